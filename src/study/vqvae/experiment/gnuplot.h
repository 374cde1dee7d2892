// Drawing a plot with gnuplot (`gnuplot-nox`), for the experiment's and the rate sweep's plots:
// data files and the script go to a temporary folder, the image to a temporary beside the
// destination that is renamed over it only when gnuplot succeeded. No gnuplot is not an error:
// the caller prints the reason and goes on.
#pragma once

#include <functional>
#include <string>

namespace vqvae {

/// `text` as a gnuplot string literal: 'it''s'.
std::string gnuplot_quoted(const std::string& text);

/// Draws `path`, PNG (pngcairo) or SVG by its extension, `width` × `height` pixels. `body` is
/// given a temporary folder for its data files and returns the script after the terminal and
/// output lines (title, axes, `plot ...`). Returns "" on success, else a one-line reason
/// (gnuplot missing or failing, the destination's folder not writable); never throws.
std::string draw_with_gnuplot(const std::string& path, int width, int height,
                              const std::function<std::string(const std::string& folder)>& body);

}  // namespace vqvae
