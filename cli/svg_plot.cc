#include "cli/svg_plot.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace amoeba {
namespace {

constexpr double kWidth = 720;
constexpr double kHeight = 420;
constexpr double kLeft = 70;
constexpr double kRight = 20;
constexpr double kTop = 40;
constexpr double kBottom = 60;

std::string Escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

struct Range {
  double lo = std::numeric_limits<double>::infinity();
  double hi = -std::numeric_limits<double>::infinity();
  void Add(double v) {
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  void Fix() {
    if (!std::isfinite(lo)) { lo = 0; hi = 1; }
    if (hi - lo < 1e-9) { lo -= 0.5; hi += 0.5; }
  }
};

std::string Frame(const std::string& title, const std::string& x_label,
                  const std::string& y_label, const Range& x, const Range& y) {
  std::string s = absl::StrFormat(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
      "viewBox=\"0 0 %.0f %.0f\" font-family=\"Helvetica,Arial,sans-serif\">\n"
      "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
      "<text x=\"%.0f\" y=\"24\" font-size=\"16\" text-anchor=\"middle\">%s</text>\n",
      kWidth, kHeight, kWidth, kHeight, kWidth / 2, Escape(title));
  const double plot_w = kWidth - kLeft - kRight;
  const double plot_h = kHeight - kTop - kBottom;
  absl::StrAppendFormat(&s,
                        "<rect x=\"%.0f\" y=\"%.0f\" width=\"%.0f\" height=\"%.0f\" "
                        "fill=\"none\" stroke=\"#444\"/>\n",
                        kLeft, kTop, plot_w, plot_h);
  for (int i = 0; i <= 5; ++i) {
    const double fx = x.lo + (x.hi - x.lo) * i / 5;
    const double fy = y.lo + (y.hi - y.lo) * i / 5;
    const double px = kLeft + plot_w * i / 5;
    const double py = kTop + plot_h - plot_h * i / 5;
    absl::StrAppendFormat(&s,
                          "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                          "stroke=\"#ddd\"/>\n"
                          "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" "
                          "text-anchor=\"middle\">%.3g</text>\n",
                          px, kTop, px, kTop + plot_h, px, kTop + plot_h + 16, fx);
    absl::StrAppendFormat(&s,
                          "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                          "stroke=\"#ddd\"/>\n"
                          "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" "
                          "text-anchor=\"end\">%.3g</text>\n",
                          kLeft, py, kLeft + plot_w, py, kLeft - 6, py + 4, fy);
  }
  absl::StrAppendFormat(&s,
                        "<text x=\"%.0f\" y=\"%.0f\" font-size=\"13\" "
                        "text-anchor=\"middle\">%s</text>\n"
                        "<text x=\"18\" y=\"%.0f\" font-size=\"13\" "
                        "text-anchor=\"middle\" transform=\"rotate(-90 18 %.0f)\">"
                        "%s</text>\n",
                        kLeft + plot_w / 2, kHeight - 18, Escape(x_label),
                        kTop + plot_h / 2, kTop + plot_h / 2, Escape(y_label));
  return s;
}

}  // namespace

std::string SvgChart(const std::string& title, const std::string& x_label,
                     const std::string& y_label,
                     const std::vector<Series>& series) {
  Range x;
  Range y;
  for (const Series& s : series) {
    for (const auto& [px, py] : s.points) {
      x.Add(px);
      y.Add(py);
    }
  }
  x.Fix();
  y.Fix();
  const double plot_w = kWidth - kLeft - kRight;
  const double plot_h = kHeight - kTop - kBottom;
  auto sx = [&](double v) { return kLeft + plot_w * (v - x.lo) / (x.hi - x.lo); };
  auto sy = [&](double v) { return kTop + plot_h - plot_h * (v - y.lo) / (y.hi - y.lo); };
  std::string svg = Frame(title, x_label, y_label, x, y);
  int legend = 0;
  for (const Series& s : series) {
    absl::StrAppendFormat(&svg, "<g class=\"series\" data-name=\"%s\">\n",
                          Escape(s.name));
    if (s.line) {
      std::string points;
      for (const auto& [px, py] : s.points) {
        absl::StrAppendFormat(&points, "%.1f,%.1f ", sx(px), sy(py));
      }
      absl::StrAppendFormat(&svg,
                            "<polyline fill=\"none\" stroke=\"%s\" "
                            "stroke-width=\"2\" points=\"%s\"/>\n",
                            s.color, points);
    } else {
      for (const auto& [px, py] : s.points) {
        absl::StrAppendFormat(&svg,
                              "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" "
                              "fill=\"%s\" fill-opacity=\"0.6\"/>\n",
                              sx(px), sy(py), s.color);
      }
    }
    svg += "</g>\n";
    absl::StrAppendFormat(&svg,
                          "<rect x=\"%.0f\" y=\"%.0f\" width=\"12\" height=\"12\" "
                          "fill=\"%s\"/><text x=\"%.0f\" y=\"%.0f\" "
                          "font-size=\"12\">%s</text>\n",
                          kLeft + 10, kTop + 10 + 18 * legend, s.color,
                          kLeft + 28, kTop + 20 + 18 * legend, Escape(s.name));
    ++legend;
  }
  svg += "</svg>\n";
  return svg;
}

std::string SvgHistogram(const std::string& title, const std::string& x_label,
                         const std::vector<double>& values, int bins) {
  Range x;
  for (double v : values) x.Add(v);
  x.Fix();
  bins = std::max(1, bins);
  std::vector<int> counts(bins, 0);
  for (double v : values) {
    int b = static_cast<int>((v - x.lo) / (x.hi - x.lo) * bins);
    counts[std::clamp(b, 0, bins - 1)]++;
  }
  Range y;
  y.Add(0);
  y.Add(*std::max_element(counts.begin(), counts.end()));
  y.Fix();
  const double plot_w = kWidth - kLeft - kRight;
  const double plot_h = kHeight - kTop - kBottom;
  std::string svg = Frame(title, x_label, "models", x, y);
  svg += "<g class=\"series\" data-name=\"histogram\">\n";
  for (int b = 0; b < bins; ++b) {
    const double h = plot_h * counts[b] / (y.hi - y.lo);
    absl::StrAppendFormat(&svg,
                          "<rect class=\"bar\" data-count=\"%d\" x=\"%.1f\" "
                          "y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
                          "fill=\"#4a90d9\" stroke=\"white\"/>\n",
                          counts[b], kLeft + plot_w * b / bins,
                          kTop + plot_h - h, plot_w / bins, h);
  }
  svg += "</g>\n</svg>\n";
  return svg;
}

}  // namespace amoeba
