"""The sampler and the one place a feed is chosen: live, replay or demo."""
