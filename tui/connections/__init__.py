"""The connections screen and its widgets: table, detail pane, columns, state counts."""
