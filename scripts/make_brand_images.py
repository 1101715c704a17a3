"""Draw the Secure Lock brand images for Home Assistant.

The icon is a shield filled with a deep teal-to-blue gradient that carries a
white padlock (shackle, body and keyhole).  The logo is the icon followed by
the "Secure Lock" wordmark; the dark variant uses light text.  Every image is
drawn at four times its final size and downsampled with Lanczos filtering, so
all edges are anti-aliased.  The images follow Home Assistant's brand rules:
square icon, transparent background, trimmed, optimized PNG.

Run it from the repository root:

    .venvs/latest/bin/python scripts/make_brand_images.py
"""

# A stand-alone script (not a package module) that reports what it wrote.

import itertools
import math
from pathlib import Path

from PIL import Image, ImageChops, ImageDraw, ImageFont

type Point = tuple[float, float]
type Rgb = tuple[int, int, int]
type Font = ImageFont.FreeTypeFont | ImageFont.ImageFont

ROOT = Path(__file__).resolve().parent.parent
BRAND_DIR = ROOT / "custom_components" / "secure_lock" / "brand"

SUPERSAMPLE = 4
GRID = 100.0  # the icon is laid out on a GRID x GRID design grid
ICON_SIZE = 256
LOGO_HEIGHT = 128

SHIELD_START: Rgb = (16, 163, 168)  # teal, top left
SHIELD_END: Rgb = (24, 52, 128)  # deep blue, bottom right
LOCK_RGB: Rgb = (255, 255, 255)
TEXT_DARK: Rgb = (17, 30, 52)
TEXT_LIGHT: Rgb = (241, 245, 249)

WORDMARK = "Secure Lock"
FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans-Bold.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf",
)

# Shield corners on the design grid, clockwise from the top peak, each with
# the radius that rounds it off.
SHIELD_CORNERS: tuple[Point, ...] = (
    (50.0, -0.5),  # top peak (its rounding brings the edge down to ~0.5)
    (94.0, 13.0),  # top right
    (94.0, 44.0),  # right side meets the lower curve (smooth)
    (50.0, 100.5),  # bottom tip (its rounding lifts the edge to ~99.5)
    (6.0, 44.0),  # left side meets the lower curve (smooth)
    (6.0, 13.0),  # top left
)
SHIELD_RADII = (7.0, 7.0, 0.0, 7.0, 0.0, 7.0)


def _line(p0: Point, p1: Point, steps: int = 48) -> list[Point]:
    """Sample a straight line, end points included."""
    return [
        (p0[0] + (p1[0] - p0[0]) * i / steps, p0[1] + (p1[1] - p0[1]) * i / steps)
        for i in range(steps + 1)
    ]


def _quad(p0: Point, p1: Point, p2: Point, steps: int = 24) -> list[Point]:
    """Sample a quadratic Bezier curve, end points included."""
    points: list[Point] = []
    for i in range(steps + 1):
        t = i / steps
        u = 1.0 - t
        points.append(
            (
                u * u * p0[0] + 2 * u * t * p1[0] + t * t * p2[0],
                u * u * p0[1] + 2 * u * t * p1[1] + t * t * p2[1],
            )
        )
    return points


def _cubic(p0: Point, p1: Point, p2: Point, p3: Point, steps: int = 96) -> list[Point]:
    """Sample a cubic Bezier curve, end points included."""
    points: list[Point] = []
    for i in range(steps + 1):
        t = i / steps
        u = 1.0 - t
        a, b, c, d = u * u * u, 3 * u * u * t, 3 * u * t * t, t * t * t
        points.append(
            (
                a * p0[0] + b * p1[0] + c * p2[0] + d * p3[0],
                a * p0[1] + b * p1[1] + c * p2[1] + d * p3[1],
            )
        )
    return points


def _point_at(points: list[Point], distance: float) -> tuple[int, Point]:
    """Return the segment index and the point at an arc length along a polyline."""
    walked = 0.0
    for i in range(len(points) - 1):
        (x0, y0), (x1, y1) = points[i], points[i + 1]
        step = math.hypot(x1 - x0, y1 - y0)
        if step > 0 and walked + step >= distance:
            t = (distance - walked) / step
            return i, (x0 + (x1 - x0) * t, y0 + (y1 - y0) * t)
        walked += step
    return len(points) - 2, points[-1]


def _trim(points: list[Point], start: float, end: float) -> list[Point]:
    """Cut the given arc lengths off both ends of a polyline."""
    length = sum(
        math.hypot(x1 - x0, y1 - y0)
        for (x0, y0), (x1, y1) in itertools.pairwise(points)
    )
    first, head = _point_at(points, start)
    last, tail = _point_at(points, length - end)
    return [head, *points[first + 1 : last + 1], tail]


def _rounded_outline(
    corners: tuple[Point, ...], segments: list[list[Point]], radii: tuple[float, ...]
) -> list[Point]:
    """Join closed-path segments, rounding each corner with a quadratic curve.

    Segment i runs from corner i to corner i + 1; radius i is the arc length
    cut off both sides of corner i, which becomes the curve's control point.
    """
    count = len(corners)
    trimmed = [
        _trim(segment, radii[i], radii[(i + 1) % count])
        for i, segment in enumerate(segments)
    ]
    outline: list[Point] = []
    for i, segment in enumerate(trimmed):
        outline.extend(_quad(trimmed[i - 1][-1], corners[i], segment[0]))
        outline.extend(segment)
    return outline


def shield_outline() -> list[Point]:
    """Return the shield outline on the design grid."""
    peak, top_right, right, tip, left, top_left = SHIELD_CORNERS
    segments = [
        _line(peak, top_right),
        _line(top_right, right),
        _cubic(right, (94.0, 72.0), (70.0, 90.0), tip),
        _cubic(tip, (30.0, 90.0), (6.0, 72.0), left),
        _line(left, top_left),
        _line(top_left, peak),
    ]
    return _rounded_outline(SHIELD_CORNERS, segments, SHIELD_RADII)


def _scaled(points: list[Point], scale: float) -> list[Point]:
    """Map design-grid points to pixels."""
    return [(x * scale, y * scale) for x, y in points]


def _gradient(size: int, start: Rgb, end: Rgb) -> Image.Image:
    """Return a square RGB image with a diagonal gradient, top left to bottom right."""
    vertical = Image.linear_gradient("L").resize(
        (size, size), Image.Resampling.BILINEAR
    )
    horizontal = vertical.transpose(Image.Transpose.TRANSPOSE)
    diagonal = ImageChops.add(vertical, horizontal, scale=2.0)
    return Image.composite(
        Image.new("RGB", (size, size), end),
        Image.new("RGB", (size, size), start),
        diagonal,
    )


def _lock_mask(size: int) -> Image.Image:
    """Return the padlock as an L mask, the keyhole cut out."""
    k = size / GRID
    mask = Image.new("L", (size, size), 0)
    draw = ImageDraw.Draw(mask)

    # Shackle: a thick inverted U whose legs disappear into the body.
    centre_x, arc_y, legs_end = 50.0, 37.0, 50.0
    for radius, fill in ((15.0, 255), (8.0, 0)):
        draw.ellipse(
            [
                (centre_x - radius) * k,
                (arc_y - radius) * k,
                (centre_x + radius) * k,
                (arc_y + radius) * k,
            ],
            fill=fill,
        )
        draw.rectangle(
            [(centre_x - radius) * k, arc_y * k, (centre_x + radius) * k, legs_end * k],
            fill=fill,
        )

    # Body.
    draw.rounded_rectangle(
        [29.0 * k, 46.0 * k, 71.0 * k, 78.0 * k], radius=6.0 * k, fill=255
    )

    # Keyhole: a round head over a slot that widens downwards.
    head_y, head_r = 58.0, 5.5
    draw.ellipse(
        [
            (50.0 - head_r) * k,
            (head_y - head_r) * k,
            (50.0 + head_r) * k,
            (head_y + head_r) * k,
        ],
        fill=0,
    )
    draw.polygon(
        [
            (47.6 * k, head_y * k),
            (52.4 * k, head_y * k),
            (53.6 * k, 69.5 * k),
            (46.4 * k, 69.5 * k),
        ],
        fill=0,
    )
    return mask


def render_icon(size: int) -> Image.Image:
    """Draw the icon at the given pixel size, without anti-aliasing."""
    shield_mask = Image.new("L", (size, size), 0)
    ImageDraw.Draw(shield_mask).polygon(
        _scaled(shield_outline(), size / GRID), fill=255
    )
    icon = _gradient(size, SHIELD_START, SHIELD_END).convert("RGBA")
    icon.putalpha(shield_mask)

    lock = Image.new("RGBA", (size, size), (*LOCK_RGB, 0))
    lock.putalpha(_lock_mask(size))
    return Image.alpha_composite(icon, lock)


def draw_icon(size: int) -> Image.Image:
    """Return the anti-aliased square icon."""
    return render_icon(size * SUPERSAMPLE).resize(
        (size, size), Image.Resampling.LANCZOS
    )


def load_font(size: int) -> Font:
    """Return a bold sans-serif font, falling back to Pillow's built-in one."""
    for candidate in FONT_CANDIDATES:
        if Path(candidate).is_file():
            return ImageFont.truetype(candidate, size)
    return ImageFont.load_default(size=size)


def _wordmark_layout(height: int) -> tuple[Font, float, float, float]:
    """Return the font, the text's x, its baseline and its right edge for a logo height."""
    font = load_font(round(height * 0.5))
    left, top, right, bottom = (float(v) for v in font.getbbox(WORDMARK, anchor="ls"))
    text_x = height * 1.22 - left
    baseline = height / 2 - (top + bottom) / 2
    return font, text_x, baseline, text_x + right


def logo_width(height: int) -> int:
    """Return the logo width for a logo height, with a little room after the text."""
    ss_height = height * SUPERSAMPLE
    _, _, _, right = _wordmark_layout(ss_height)
    return math.ceil(right / SUPERSAMPLE) + 2


def draw_logo(height: int, width: int, text_rgb: Rgb) -> Image.Image:
    """Return the anti-aliased landscape logo: icon, then the wordmark."""
    ss_width, ss_height = width * SUPERSAMPLE, height * SUPERSAMPLE
    canvas = Image.new("RGBA", (ss_width, ss_height), (0, 0, 0, 0))
    canvas.alpha_composite(render_icon(ss_height))

    font, text_x, baseline, _ = _wordmark_layout(ss_height)
    text_mask = Image.new("L", (ss_width, ss_height), 0)
    ImageDraw.Draw(text_mask).text(
        (text_x, baseline), WORDMARK, font=font, fill=255, anchor="ls"
    )
    text = Image.new("RGBA", (ss_width, ss_height), (*text_rgb, 0))
    text.putalpha(text_mask)
    canvas.alpha_composite(text)
    return canvas.resize((width, height), Image.Resampling.LANCZOS)


def main() -> None:
    """Draw every brand image and write it into the integration's brand folder."""
    width = logo_width(LOGO_HEIGHT)
    images = {
        "icon.png": draw_icon(ICON_SIZE),
        "icon@2x.png": draw_icon(ICON_SIZE * 2),
        "logo.png": draw_logo(LOGO_HEIGHT, width, TEXT_DARK),
        "logo@2x.png": draw_logo(LOGO_HEIGHT * 2, width * 2, TEXT_DARK),
        "dark_logo.png": draw_logo(LOGO_HEIGHT, width, TEXT_LIGHT),
        "dark_logo@2x.png": draw_logo(LOGO_HEIGHT * 2, width * 2, TEXT_LIGHT),
    }
    BRAND_DIR.mkdir(parents=True, exist_ok=True)
    for name, image in images.items():
        path = BRAND_DIR / name
        image.save(path, optimize=True)
        print(
            f"{path.relative_to(ROOT)}: {image.width}x{image.height}, "
            f"{path.stat().st_size} bytes"
        )


if __name__ == "__main__":
    main()
