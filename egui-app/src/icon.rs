//! The app's icon, drawn in code so it is sharp at every size: a blue rounded square with
//! two white arrows going opposite ways ("switch"). Bold strokes keep it readable at 16 px.

/// The icon as straight RGBA pixels, `size`×`size`.
pub fn rgba(size: u32) -> Vec<u8> {
    const SAMPLES: u32 = 4;
    let mut out = Vec::with_capacity((size * size * 4) as usize);
    let s = size as f32;
    for py in 0..size {
        for px in 0..size {
            let (mut bg, mut fg) = (0u32, 0u32);
            for sy in 0..SAMPLES {
                for sx in 0..SAMPLES {
                    // Normalised coordinates in 0..1.
                    let x = (px as f32 + (sx as f32 + 0.5) / SAMPLES as f32) / s;
                    let y = (py as f32 + (sy as f32 + 0.5) / SAMPLES as f32) / s;
                    if in_rounded_square(x, y) {
                        bg += 1;
                        if in_arrows(x, y) {
                            fg += 1;
                        }
                    }
                }
            }
            let total = (SAMPLES * SAMPLES) as f32;
            let alpha = bg as f32 / total;
            let white = if bg == 0 { 0.0 } else { fg as f32 / bg as f32 };
            // Background #2563eb, foreground white.
            let mix = |b: f32| (b + (255.0 - b) * white).round() as u8;
            out.extend_from_slice(&[
                mix(37.0),
                mix(99.0),
                mix(235.0),
                (alpha * 255.0).round() as u8,
            ]);
        }
    }
    out
}

/// Writes the icon as a `size`×`size` PNG file (for packaging: `--write-icon SIZE FILE`).
pub fn write_png(size: u32, path: &std::path::Path) -> std::io::Result<()> {
    let file = std::io::BufWriter::new(std::fs::File::create(path)?);
    let mut encoder = png::Encoder::new(file, size, size);
    encoder.set_color(png::ColorType::Rgba);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(std::io::Error::other)?;
    writer
        .write_image_data(&rgba(size))
        .map_err(std::io::Error::other)?;
    writer.finish().map_err(std::io::Error::other)
}

fn in_rounded_square(x: f32, y: f32) -> bool {
    const R: f32 = 0.22;
    let cx = x.clamp(R, 1.0 - R);
    let cy = y.clamp(R, 1.0 - R);
    (x - cx).powi(2) + (y - cy).powi(2) <= R * R
}

fn in_arrows(x: f32, y: f32) -> bool {
    const HALF: f32 = 0.065; // stroke half-width
    // Top arrow: shaft left to right, head pointing right.
    let top = 0.34;
    let top_shaft = (0.18..=0.62).contains(&x) && (y - top).abs() <= HALF;
    let top_head = in_triangle(x, y, (0.84, top), (0.58, top - 0.19), (0.58, top + 0.19));
    // Bottom arrow: the mirror image.
    let bottom = 0.66;
    let bottom_shaft = (0.38..=0.82).contains(&x) && (y - bottom).abs() <= HALF;
    let bottom_head = in_triangle(
        x,
        y,
        (0.16, bottom),
        (0.42, bottom - 0.19),
        (0.42, bottom + 0.19),
    );
    top_shaft || top_head || bottom_shaft || bottom_head
}

fn in_triangle(x: f32, y: f32, a: (f32, f32), b: (f32, f32), c: (f32, f32)) -> bool {
    let side = |p: (f32, f32), q: (f32, f32)| (q.0 - p.0) * (y - p.1) - (q.1 - p.1) * (x - p.0);
    let (d1, d2, d3) = (side(a, b), side(b, c), side(c, a));
    let has_neg = d1 < 0.0 || d2 < 0.0 || d3 < 0.0;
    let has_pos = d1 > 0.0 || d2 > 0.0 || d3 > 0.0;
    !(has_neg && has_pos)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_corners_and_arrows() {
        for size in [16, 32, 64] {
            let px = rgba(size);
            assert_eq!(px.len(), (size * size * 4) as usize);
            // A corner is transparent, the middle of the top arrow is white and opaque.
            assert_eq!(px[3], 0);
            let at = |x: u32, y: u32| {
                let i = ((y * size + x) * 4) as usize;
                [px[i], px[i + 1], px[i + 2], px[i + 3]]
            };
            let arrow = at(size * 45 / 100, size * 34 / 100);
            assert!(arrow[0] > 200 && arrow[3] == 255, "{size}: {arrow:?}");
            let background = at(size / 2, size / 2);
            assert!(
                background[2] > 200 && background[0] < 120,
                "{size}: {background:?}"
            );
        }
    }
}
