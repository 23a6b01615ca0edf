"""Headless command front-ends (connections, ipsec, record) and the one place a feed is chosen.

Why a package above the others: choosing a feed needs the live sampler, a recording and the
demo, and the demo and replay are built on the sampler, so the choice sits above all three.
"""
