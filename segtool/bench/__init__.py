"""``segtool bench``: its probe (the DDS side), its rows (what is measured) and its report."""

#: Camera resolutions the benchmark plays, by name: (height, width).
SIZES = {'VGA': (480, 640), 'HD': (720, 1280), 'FHD': (1080, 1920)}
