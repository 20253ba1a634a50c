"""``segtool bench``, ``soak`` and ``gpu-check``: the probe (the DDS side), the rows (what is measured), reports."""

#: Camera resolutions the benchmark plays, by name: (height, width); CamVid's is the street model's own.
SIZES = {'CamVid': (360, 480), 'VGA': (480, 640), 'HD': (720, 1280), 'FHD': (1080, 1920)}
