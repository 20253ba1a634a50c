"""Procedural road scenes with exact per-pixel labels (Cityscapes trainIds); numpy only.

A scene is drawn from its seed alone: ``generate_scene(seed, h, w)`` returns the same RGB image and label map
every time, at any resolution (the geometry is in units of the image size). A pinhole camera looks down a
straight road: asphalt with lane marks, curbs and sidewalks, hedges, building rows with windows, trees, cars and
pedestrians painted far to near over a sky with a tree line. Each surface is a *material* with a label, so the
labels are exact; lighting, shadows, texture and sensor noise change only the image.

Texture and noise fields are cached per size and cropped at a random offset per scene, so a frame is cheap
enough for a 30 Hz player; ``generate_batch`` pre-generates frames for a player that must keep a fixed rate.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from seg_node.label_sets import CITYSCAPES, IGNORE_INDEX, ROAD

#: Cityscapes trainId of each class the generator draws (``label_sets.ROAD``, the shipped road model's classes).
TRAIN_IDS = tuple(CITYSCAPES.class_names.index(name) for name in ROAD.class_names)

_ROAD, _SIDEWALK, _BUILDING, _VEGETATION, _SKY, _PERSON, _CAR = TRAIN_IDS
_LEVELS = 64  # brightness levels of the colour lookup table
_N_SLOTS = 6  # materials with several per-scene colours (facades, car paint, clothes)


def _materials() -> tuple[dict[str, int], np.ndarray, np.ndarray]:
    """Material name -> index, the trainId and the texture strength of each material."""
    table = [('sky', _SKY, 0.04), ('treeline', _VEGETATION, 0.9), ('road', _ROAD, 0.35),
             ('lane', _ROAD, 0.25), ('curb', _SIDEWALK, 0.3), ('sidewalk', _SIDEWALK, 0.45),
             ('hedge', _VEGETATION, 1.0), ('window', _BUILDING, 0.15), ('front', _BUILDING, 0.3),
             ('trunk', _VEGETATION, 0.5), ('crown', _VEGETATION, 1.0), ('glass', _CAR, 0.1),
             ('wheel', _CAR, 0.2), ('taillight', _CAR, 0.1)]
    for prefix, label, texture in (('facade', _BUILDING, 0.35), ('paint', _CAR, 0.08),
                                   ('top', _PERSON, 0.3), ('legs', _PERSON, 0.3), ('skin', _PERSON, 0.1)):
        table += [(f'{prefix}{i}', label, texture) for i in range(_N_SLOTS)]
    names = {name: i for i, (name, _, _) in enumerate(table)}
    return names, np.array([t[1] for t in table], np.uint8), 0.35 * np.array([t[2] for t in table], np.float32)


_MAT, _MAT_LABEL, _MAT_TEXTURE = _materials()


def trainid_to_index(train_ids: np.ndarray) -> np.ndarray:
    """Map a trainId label map to indices into ``ROAD.class_names``; any other id becomes ``IGNORE_INDEX``."""
    lut = np.full(256, IGNORE_INDEX, np.uint8)
    lut[list(TRAIN_IDS)] = np.arange(len(TRAIN_IDS), dtype=np.uint8)
    return lut[train_ids]


@lru_cache(maxsize=8)
def _fields(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    """Texture (2h, 2w) and luminance noise (2h, 2w) fields, fixed per size so scenes stay repeatable."""
    rng = np.random.default_rng(12345)
    texture = np.zeros((2 * h, 2 * w), np.float32)
    for cell, weight in ((32, 0.5), (8, 0.3), (2, 0.2)):
        coarse = rng.standard_normal((2 * h // cell + 2, 2 * w // cell + 2)).astype(np.float32)
        texture += weight * _upsample(coarse, 2 * h, 2 * w, cell)
    noise = rng.standard_normal((2 * h, 2 * w)).astype(np.float32)
    return texture, noise


def _upsample(coarse: np.ndarray, h: int, w: int, cell: int) -> np.ndarray:
    """Bilinear upsampling of a coarse grid by ``cell`` pixels per cell, cropped to (h, w)."""
    ys, xs = np.arange(h) / cell, np.arange(w) / cell
    y0, x0 = ys.astype(int), xs.astype(int)
    fy, fx = (ys - y0)[:, None].astype(np.float32), (xs - x0)[None, :].astype(np.float32)
    top = coarse[y0][:, x0] * (1 - fx) + coarse[y0][:, x0 + 1] * fx
    bottom = coarse[y0 + 1][:, x0] * (1 - fx) + coarse[y0 + 1][:, x0 + 1] * fx
    return top * (1 - fy) + bottom * fy


@lru_cache(maxsize=8)
def _grids(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre row (h, 1) and column (1, w) coordinates."""
    return (np.arange(h, dtype=np.float32) + 0.5)[:, None], (np.arange(w, dtype=np.float32) + 0.5)[None, :]


@dataclass
class _Camera:
    """Pinhole camera over a flat ground plane; metres to pixels."""

    f: float  # focal length, pixels
    horizon: float  # row of the horizon
    vx: float  # column of the vanishing point
    height: float  # camera height above the ground, metres

    def project(self, lateral: float, up: float, depth: float) -> tuple[float, float]:
        """Pixel (x, y) of the point ``lateral`` m right, ``up`` m above the ground, ``depth`` m ahead."""
        return self.vx + self.f * lateral / depth, self.horizon + self.f * (self.height - up) / depth


class _Canvas:
    """The material map being painted, with convex-polygon and ellipse fills clipped to the image."""

    def __init__(self, h: int, w: int) -> None:
        self.h, self.w = h, w
        self.mat = np.empty((h, w), np.uint8)
        self.rows, self.cols = _grids(h, w)

    def _box(self, x0: float, x1: float, y0: float, y1: float):
        """Integer bounds of a float box clipped to the image, or None if empty."""
        c0, c1 = max(int(np.floor(x0)), 0), min(int(np.ceil(x1)), self.w)
        r0, r1 = max(int(np.floor(y0)), 0), min(int(np.ceil(y1)), self.h)
        return (r0, r1, c0, c1) if r0 < r1 and c0 < c1 else None

    def polygon(self, points: list[tuple[float, float]], material: int) -> None:
        """Fill a convex polygon whose (x, y) vertices are listed in either winding order."""
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        box = self._box(min(xs), max(xs), min(ys), max(ys))
        if box is None:
            return
        r0, r1, c0, c1 = box
        rows, cols = self.rows[r0:r1], self.cols[:, c0:c1]
        area = sum(xs[i - 1] * ys[i] - xs[i] * ys[i - 1] for i in range(len(xs)))
        sign = 1.0 if area > 0 else -1.0
        inside = np.ones((r1 - r0, c1 - c0), bool)
        for i in range(len(xs)):
            (ax, ay), (bx, by) = points[i - 1], points[i]
            inside &= sign * ((bx - ax) * (rows - ay) - (by - ay) * (cols - ax)) >= 0
        self.mat[r0:r1, c0:c1][inside] = material

    def rect(self, x0: float, y0: float, x1: float, y1: float, material: int) -> None:
        """Fill the axis-aligned box [x0, x1) x [y0, y1) (pixel centres inside)."""
        self.polygon([(x0, y0), (x1, y0), (x1, y1), (x0, y1)], material)

    def ellipse(self, cx: float, cy: float, rx: float, ry: float, material: int,
                wobble: np.ndarray | None = None) -> None:
        """Fill an ellipse; ``wobble`` (a texture patch) roughens its outline like foliage."""
        box = self._box(cx - rx * 1.3, cx + rx * 1.3, cy - ry * 1.3, cy + ry * 1.3)
        if box is None or rx < 0.3 or ry < 0.3:
            return
        r0, r1, c0, c1 = box
        d = ((self.cols[:, c0:c1] - cx) / rx) ** 2 + ((self.rows[r0:r1] - cy) / ry) ** 2
        if wobble is not None:
            d = d - 0.45 * wobble[r0:r1, c0:c1]
        self.mat[r0:r1, c0:c1][d <= 1.0] = material


def generate_scene(seed: int, height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Generate the scene of ``seed`` at ``height`` x ``width``: an RGB uint8 image and its trainId uint8 labels."""
    rng = np.random.default_rng(seed)
    h, w = height, width
    cam = _Camera(f=h * rng.uniform(0.95, 1.25), horizon=h * rng.uniform(0.36, 0.5),
                  vx=w * rng.uniform(0.38, 0.62), height=rng.uniform(1.2, 1.7))
    canvas = _Canvas(h, w)
    texture, noise = _fields(h, w)
    ty, tx, ny, nx = rng.integers(0, h), rng.integers(0, w), rng.integers(0, h), rng.integers(0, w)
    texture, noise = texture[ty:ty + h, tx:tx + w], noise[ny:ny + h, nx:nx + w]

    layout = _road_layout(rng)
    _paint_background(canvas, cam, rng)
    ground_rows = _paint_ground(canvas, cam, layout, rng)
    _paint_buildings(canvas, cam, layout, rng)
    objects = _place_objects(canvas, cam, layout, rng, texture)
    for _, paint in sorted(objects, key=lambda o: -o[0]):
        paint()

    shadow = _shadow_map(canvas, cam, layout, ground_rows, rng)
    image = _shade(canvas.mat, texture, noise, shadow, cam, rng)
    return image, np.take(_MAT_LABEL, canvas.mat)


def generate_batch(seeds, height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Pre-generate the scenes of ``seeds``: images (N, H, W, 3) and labels (N, H, W)."""
    pairs = [generate_scene(int(s), height, width) for s in seeds]
    return np.stack([p[0] for p in pairs]), np.stack([p[1] for p in pairs])


@dataclass
class _Layout:
    """Lateral positions (metres, + is right) of the road's bands, left to right."""

    road_left: float
    road_right: float
    lanes: int
    curb: float
    sidewalk_left: float  # outer edge of the left sidewalk
    sidewalk_right: float
    facade_left: float  # building line on each side
    facade_right: float
    dash_phase: float
    dash_period: float


def _road_layout(rng: np.random.Generator) -> _Layout:
    lanes = int(rng.integers(1, 5))
    lane_w = rng.uniform(2.8, 3.8)
    offset = rng.uniform(-0.5, 0.5) * lanes * lane_w
    left = offset - lanes * lane_w / 2
    right = left + lanes * lane_w
    curb = rng.uniform(0.15, 0.3)
    sw_l, sw_r = left - curb - rng.uniform(1.5, 5.0), right + curb + rng.uniform(1.5, 5.0)
    return _Layout(left, right, lanes, curb, sw_l, sw_r, sw_l - rng.uniform(0.0, 4.0),
                   sw_r + rng.uniform(0.0, 4.0), rng.uniform(0, 12), rng.uniform(6, 12))


def _paint_background(canvas: _Canvas, cam: _Camera, rng: np.random.Generator) -> None:
    """Sky everywhere, then a tree line of random height along the horizon."""
    canvas.mat[:] = _MAT['sky']
    coarse = rng.uniform(0.0, 1.0, 10).astype(np.float32)
    heights = np.interp(np.linspace(0, 9, canvas.w), np.arange(10), coarse).astype(np.float32)
    heights = (heights * rng.uniform(0.02, 0.12) + rng.uniform(0.0, 0.03)) * canvas.h
    top = cam.horizon - heights[None, :]
    canvas.mat[(canvas.rows >= top) & (canvas.rows < cam.horizon + 1)] = _MAT['treeline']


def _paint_ground(canvas: _Canvas, cam: _Camera, lay: _Layout, rng: np.random.Generator) -> slice:
    """Road, lane marks, curbs, sidewalks and hedges below the horizon; returns the ground rows."""
    r0 = int(np.ceil(cam.horizon - 0.5))
    rows = slice(r0, canvas.h)
    k = canvas.rows[rows] - cam.horizon  # rows below the horizon, > 0
    scale = k / cam.height  # pixels per lateral metre on each row
    cols = canvas.cols
    bands = [lay.sidewalk_left, lay.road_left - lay.curb, lay.road_left, lay.road_right,
             lay.road_right + lay.curb, lay.sidewalk_right]
    band_mats = np.array([_MAT[m] for m in ('hedge', 'sidewalk', 'curb', 'road', 'curb', 'sidewalk', 'hedge')],
                         np.uint8)
    band = sum((cols >= cam.vx + edge * scale).astype(np.uint8) for edge in bands)
    ground = band_mats[band]
    depth = cam.f * cam.height / k[:, 0]
    dashed = ((depth + lay.dash_phase) % lay.dash_period < lay.dash_period * 0.45)[:, None]
    width = np.maximum(0.15 * scale, 0.5)
    lane_w = (lay.road_right - lay.road_left) / lay.lanes
    marks = [(lay.road_left + 0.35, False), (lay.road_right - 0.35, False)]
    marks += [(lay.road_left + i * lane_w, True) for i in range(1, lay.lanes)]
    for lateral, is_dashed in marks:
        on = np.abs(cols - (cam.vx + lateral * scale)) < width / 2
        ground[on & dashed if is_dashed else on] = _MAT['lane']
    canvas.mat[rows] = ground
    return rows


def _paint_buildings(canvas: _Canvas, cam: _Camera, lay: _Layout, rng: np.random.Generator) -> None:
    """Paint building rows along both building lines: front faces, then facades with windows."""
    for side, line in ((-1, lay.facade_left), (1, lay.facade_right)):
        if rng.random() < 0.15:
            continue  # an open side: tree line and hedges only
        starts, ends, tops, slots = [], [], [], []
        z = rng.uniform(1.0, 15.0)
        while z < 250:
            length = rng.uniform(8, 35)
            starts.append(z), ends.append(z + length), tops.append(rng.uniform(5, 25))
            slots.append(_MAT[f'facade{rng.integers(0, _N_SLOTS)}'])
            z += length + (rng.uniform(2, 15) if rng.random() < 0.35 else 0.0)
        spacing, floor_h, win_frac = rng.uniform(2.5, 4.5), rng.uniform(2.8, 3.6), rng.uniform(0.35, 0.6)
        thickness = rng.uniform(8, 20)
        for z0, top_m in zip(starts, tops):  # front faces first: nearer facades hide them
            xa, y_top = cam.project(line, top_m, z0)
            xb, y_bot = cam.project(line + side * thickness, 0.0, z0)
            canvas.rect(min(xa, xb), y_top, max(xa, xb), y_bot, _MAT['front'])
        # Facade columns: each one sees the building line at one depth.
        c0 = int(np.clip(np.ceil(cam.vx + 0.5), 0, canvas.w)) if side > 0 else 0
        c1 = canvas.w if side > 0 else int(np.clip(np.floor(cam.vx - 0.5), 0, canvas.w))
        if c0 >= c1:
            continue
        depth = cam.f * abs(line) / np.maximum((canvas.cols[0, c0:c1] - cam.vx) * side, 0.5)
        idx = np.clip(np.searchsorted(np.array(starts), depth, side='right') - 1, 0, len(starts) - 1)
        inside = (depth >= np.array(starts)[idx]) & (depth < np.array(ends)[idx])
        if not inside.any():
            continue
        top_m = np.array(tops)[idx]
        top = np.where(inside, cam.horizon - cam.f * (top_m - cam.height) / depth, np.inf)
        bottom = cam.horizon + cam.f * cam.height / depth
        r0 = max(int(np.floor(top[inside].min())), 0)
        r1 = min(int(np.ceil(bottom[inside].max())), canvas.h)
        if r0 >= r1:
            continue
        rows = canvas.rows[r0:r1]
        facade = (rows >= top) & (rows < bottom)
        # Windows: a grid in (depth, height above ground) on the facade plane.
        win_col = ((depth / spacing) % 1.0 < win_frac) & inside
        floors = (cam.height - (rows - cam.horizon) * (depth / cam.f)) / floor_h
        win = win_col & (floors > 1.1) & (floors % 1.0 > 0.45) & (floors < (top_m - 1.0) / floor_h)
        block = canvas.mat[r0:r1, c0:c1]
        block[facade] = np.broadcast_to(np.array(slots, np.uint8)[idx], facade.shape)[facade]
        block[facade & win] = _MAT['window']


def _place_objects(canvas: _Canvas, cam: _Camera, lay: _Layout, rng: np.random.Generator,
                   texture: np.ndarray) -> list:
    """Cars on the road, pedestrians on the sidewalks, trees along the curbs: (depth, painter) pairs."""
    objects = []
    lane_w = (lay.road_right - lay.road_left) / lay.lanes
    for _ in range(int(rng.integers(0, 7))):
        lateral = lay.road_left + (rng.integers(0, lay.lanes) + 0.5) * lane_w + rng.uniform(-0.4, 0.4)
        car = dict(lateral=lateral, depth=rng.uniform(4.0, 40.0), width=rng.uniform(1.6, 2.0),
                   height=rng.uniform(1.35, 1.9), length=rng.uniform(3.8, 5.0),
                   paint=_MAT[f'paint{rng.integers(0, _N_SLOTS)}'])
        objects.append((car['depth'], lambda car=car: _paint_car(canvas, cam, **car)))
    for _ in range(int(rng.integers(0, 8))):
        if rng.random() < 0.5:
            lateral = rng.uniform(lay.sidewalk_left + 0.3, lay.road_left - lay.curb - 0.3)
        else:
            lateral = rng.uniform(lay.road_right + lay.curb + 0.3, lay.sidewalk_right - 0.3)
        person = dict(lateral=lateral, depth=rng.uniform(3.0, 22.0), height=rng.uniform(1.5, 1.95),
                      stride=rng.uniform(-0.25, 0.25), slot=int(rng.integers(0, _N_SLOTS)))
        objects.append((person['depth'], lambda p=person: _paint_person(canvas, cam, **p)))
    for _ in range(int(rng.integers(0, 9))):
        left = rng.random() < 0.5
        lateral = (lay.road_left - lay.curb - rng.uniform(0.4, 1.2)) if left else \
            (lay.road_right + lay.curb + rng.uniform(0.4, 1.2))
        tree = dict(lateral=lateral, depth=rng.uniform(4.0, 80.0), trunk=rng.uniform(2.0, 3.5),
                    crown=rng.uniform(1.2, 2.8))
        objects.append((tree['depth'], lambda t=tree: _paint_tree(canvas, cam, texture, **t)))
    return objects


def _paint_car(canvas: _Canvas, cam: _Camera, lateral: float, depth: float, width: float, height: float,
               length: float, paint: int) -> None:
    """Paint a car seen from behind: its near side toward the camera axis, body, rear window, wheels, lights."""
    x0, y0 = cam.project(lateral - width / 2, 0.0, depth)
    x1, y1 = cam.project(lateral + width / 2, height, depth)
    side_x = lateral - width / 2 if lateral > 0 else lateral + width / 2
    near_b, near_t = cam.project(side_x, 0.0, depth), cam.project(side_x, height * 0.92, depth)
    far_b, far_t = cam.project(side_x, 0.0, depth + length), cam.project(side_x, height * 0.92, depth + length)
    canvas.polygon([near_b, near_t, far_t, far_b], paint)
    canvas.rect(x0, y1 + (y0 - y1) * 0.08, x1, y0, paint)
    s = cam.f / depth  # pixels per metre at the car's rear
    canvas.polygon([(x0 + 0.15 * s, y1 + 0.45 * (y0 - y1)), (x1 - 0.15 * s, y1 + 0.45 * (y0 - y1)),
                    (x1 - 0.3 * s, y1), (x0 + 0.3 * s, y1)], _MAT['glass'])
    canvas.rect(x0 + 0.1 * s, y0 - 0.6 * s, x0 + 0.35 * s, y0 - 0.45 * s, _MAT['taillight'])
    canvas.rect(x1 - 0.35 * s, y0 - 0.6 * s, x1 - 0.1 * s, y0 - 0.45 * s, _MAT['taillight'])
    canvas.rect(x0 + 0.05 * s, y0 - 0.25 * s, x0 + 0.35 * s, y0 + 0.02 * s, _MAT['wheel'])
    canvas.rect(x1 - 0.35 * s, y0 - 0.25 * s, x1 - 0.05 * s, y0 + 0.02 * s, _MAT['wheel'])


def _paint_person(canvas: _Canvas, cam: _Camera, lateral: float, depth: float, height: float, stride: float,
                  slot: int) -> None:
    """Paint a standing or walking pedestrian: legs, torso with arms, head."""
    s = cam.f / depth
    cx, ground = cam.project(lateral, 0.0, depth)
    top = ground - height * s
    hip, shoulder = ground - 0.5 * height * s, top + 0.2 * height * s
    leg, half = 0.13 * s, 0.1 * s
    legs, skin, shirt = _MAT[f'legs{slot}'], _MAT[f'skin{slot}'], _MAT[f'top{slot}']
    for sign in (-1, 1):
        foot = cx + sign * (half + stride * s)
        canvas.polygon([(cx + sign * half - leg, hip), (cx + sign * half + leg, hip),
                        (foot + leg, ground), (foot - leg, ground)], legs)
        canvas.polygon([(cx + sign * 0.24 * s, shoulder), (cx + sign * 0.32 * s, shoulder),
                        (cx + sign * (0.3 + abs(stride) * 0.5) * s, hip + 0.05 * s),
                        (cx + sign * (0.22 + abs(stride) * 0.5) * s, hip + 0.05 * s)], shirt)
    canvas.polygon([(cx - 0.24 * s, shoulder), (cx + 0.24 * s, shoulder), (cx + 0.2 * s, hip + 0.04 * s),
                    (cx - 0.2 * s, hip + 0.04 * s)], shirt)
    canvas.rect(cx - 0.05 * s, shoulder - 0.06 * s, cx + 0.05 * s, shoulder + 0.01 * s, skin)
    canvas.ellipse(cx, top + 0.11 * s, 0.1 * s, 0.12 * s, skin)


def _paint_tree(canvas: _Canvas, cam: _Camera, texture: np.ndarray, lateral: float, depth: float, trunk: float,
                crown: float) -> None:
    """Paint a street tree: trunk and a leafy crown with a rough outline."""
    s = cam.f / depth
    cx, ground = cam.project(lateral, 0.0, depth)
    canvas.rect(cx - 0.15 * s, ground - (trunk + 0.5) * s, cx + 0.15 * s, ground, _MAT['trunk'])
    canvas.ellipse(cx, ground - (trunk + crown * 0.8) * s, crown * s, crown * 1.1 * s, _MAT['crown'], texture)


def _shadow_map(canvas: _Canvas, cam: _Camera, lay: _Layout, ground_rows: slice,
                rng: np.random.Generator) -> np.ndarray | None:
    """Light factor per pixel, or None for full sun: a shadow cast along the street from one side."""
    if rng.random() < 0.4:
        return None
    light = np.ones((canvas.h, canvas.w), np.float32)
    edge = cam.vx + rng.uniform(lay.road_left - 3, lay.road_right + 3) * (
        (canvas.rows[ground_rows] - cam.horizon) / cam.height)
    shaded = (canvas.cols < edge) if rng.random() < 0.5 else (canvas.cols > edge)
    light[ground_rows][shaded] = rng.uniform(0.45, 0.75)
    return light


def _shade(mat: np.ndarray, texture: np.ndarray, noise: np.ndarray, light: np.ndarray | None, cam: _Camera,
           rng: np.random.Generator) -> np.ndarray:
    """Colour the material map: per-scene colours x (texture, light, noise), through one lookup table."""
    colours = _scene_colours(rng)
    tint = rng.uniform(0.88, 1.12, 3).astype(np.float32)
    rows = np.arange(mat.shape[0], dtype=np.float32)[:, None]
    sky_gradient = 1.0 + rng.uniform(0.0, 0.35) * (rows / max(cam.horizon, 1.0) - 0.5) * (rows < cam.horizon)
    row_gain = (sky_gradient * (rng.uniform(0.6, 1.25) * _LEVELS / 2)).astype(np.float32)
    noise_gain = np.float32(rng.uniform(0.01, 0.06) * _LEVELS / 2)
    shade = np.take(_MAT_TEXTURE, mat)
    shade *= texture
    shade += 1.0
    if light is not None:
        shade *= light
    shade *= row_gain
    shade += noise * noise_gain
    np.clip(shade, 0, _LEVELS - 1, out=shade)
    index = mat.astype(np.uint16)
    index *= _LEVELS
    index += shade.astype(np.uint16)
    lut_levels = np.arange(_LEVELS, dtype=np.float32) * (2.0 / _LEVELS)
    lut = np.clip(colours[:, None, :] * tint * lut_levels[None, :, None], 0, 255).astype(np.uint8)
    return np.take(lut.reshape(-1, 3), index, axis=0)


def _scene_colours(rng: np.random.Generator) -> np.ndarray:
    """Draw an RGB colour per material around a plausible base for each."""
    base = {'sky': (135, 175, 225), 'treeline': (60, 90, 45), 'road': (95, 95, 100), 'lane': (215, 215, 210),
            'curb': (165, 160, 155), 'sidewalk': (150, 140, 135), 'hedge': (55, 100, 40), 'window': (60, 75, 95),
            'front': (120, 110, 100), 'trunk': (85, 65, 45), 'crown': (70, 115, 45), 'glass': (35, 40, 50),
            'wheel': (25, 25, 25), 'taillight': (190, 30, 30)}
    colours = np.zeros((len(_MAT), 3), np.float32)
    for name, rgb in base.items():
        colours[_MAT[name]] = np.array(rgb) * rng.uniform(0.8, 1.2) + rng.uniform(-12, 12, 3)
    if rng.random() < 0.3:  # overcast
        colours[_MAT['sky']] = rng.uniform(170, 215) + rng.uniform(-8, 8, 3)
    for i in range(_N_SLOTS):
        colours[_MAT[f'facade{i}']] = rng.uniform(80, 200) * rng.uniform(0.8, 1.1, 3)
        colours[_MAT[f'paint{i}']] = rng.uniform(20, 230, 3)
        colours[_MAT[f'top{i}']] = rng.uniform(20, 220, 3)
        colours[_MAT[f'legs{i}']] = rng.uniform(20, 140, 3)
        colours[_MAT[f'skin{i}']] = np.array([225, 180, 150]) * rng.uniform(0.4, 1.05)
    return np.clip(colours, 0, 255)
