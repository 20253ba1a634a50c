"""``segtool bench`` and ``segtool soak``: the probe (the DDS side), the rows (what is measured), report, soak."""

#: Camera resolutions the benchmark plays, by name: (height, width).
SIZES = {'VGA': (480, 640), 'HD': (720, 1280), 'FHD': (1080, 1920)}
