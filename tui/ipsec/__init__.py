"""The IPsec screen: counters, their detail, the native view and the SA list."""
