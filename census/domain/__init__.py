"""Plain data of the census: areas, dwellings, visits, households and their count grids. No I/O."""
