#include "cli/svg_plot.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

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

// Round tick positions over [lo, hi]: steps of 1, 2 or 5 times a power of
// ten, about five of them (whole numbers only when `integer`).
std::vector<double> Ticks(double lo, double hi, bool integer) {
  // The smallest round step that gives at most eight ticks.
  const double magnitude =
      std::pow(10.0, std::floor(std::log10((hi - lo) / 8)));
  double step = magnitude;
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    step = m * magnitude;
    if (std::floor(hi / step) - std::ceil(lo / step) + 1 <= 8) break;
  }
  if (integer) step = std::max(1.0, std::round(step));
  std::vector<double> ticks;
  for (double t = std::ceil(lo / step) * step; t <= hi + step * 1e-9;
       t += step) {
    ticks.push_back(std::abs(t) < step * 1e-9 ? 0.0 : t);
    if (ticks.size() > 50) break;
  }
  return ticks;
}

// Ticks of a log10 axis over [lo, hi] (exponents): 1, 2 and 5 times the
// powers of ten in range, or the powers alone when that is too many.
std::vector<double> LogTicks(double lo, double hi) {
  std::vector<double> ticks;
  for (const std::vector<double>& multiples :
       {std::vector<double>{1, 2, 5}, std::vector<double>{1}}) {
    ticks.clear();
    for (int k = static_cast<int>(std::floor(lo));
         k <= static_cast<int>(std::ceil(hi)); ++k) {
      for (double m : multiples) {
        const double e = std::log10(m) + k;
        if (e >= lo - 1e-9 && e <= hi + 1e-9) ticks.push_back(e);
      }
    }
    if (ticks.size() <= 8) break;
  }
  return ticks;
}

// 20000 -> "20k", 5e6 -> "5M": log axes span sizes and costs.
std::string HumanNumber(double v) {
  if (v >= 1e9) return absl::StrFormat("%gG", v / 1e9);
  if (v >= 1e6) return absl::StrFormat("%gM", v / 1e6);
  if (v >= 1e3) return absl::StrFormat("%gk", v / 1e3);
  return absl::StrFormat("%g", v);
}

std::string TickLabel(double v, bool integer) {
  if (integer || (std::abs(v) >= 1000 && std::round(v) == v)) {
    return absl::StrFormat("%.0f", v);
  }
  return absl::StrFormat("%.3g", v);
}

struct Layout {
  double width = kWidth;
  double plot_w = kWidth - kLeft - kRight;
  double plot_h = kHeight - kTop - kBottom;
};

std::string Frame(const std::string& title, const std::string& x_label,
                  const std::string& y_label, const Range& x, const Range& y,
                  const Layout& layout, bool integer_x, bool log_x) {
  std::string s = absl::StrFormat(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
      "viewBox=\"0 0 %.0f %.0f\" font-family=\"Helvetica,Arial,sans-serif\">\n"
      "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
      "<text x=\"%.0f\" y=\"24\" font-size=\"16\" text-anchor=\"middle\">%s</text>\n",
      layout.width, kHeight, layout.width, kHeight, kLeft + layout.plot_w / 2,
      Escape(title));
  const double plot_w = layout.plot_w;
  const double plot_h = layout.plot_h;
  absl::StrAppendFormat(&s,
                        "<rect x=\"%.0f\" y=\"%.0f\" width=\"%.0f\" height=\"%.0f\" "
                        "fill=\"none\" stroke=\"#444\"/>\n",
                        kLeft, kTop, plot_w, plot_h);
  for (double fx : log_x ? LogTicks(x.lo, x.hi)
                         : Ticks(x.lo, x.hi, integer_x)) {
    const double px = kLeft + plot_w * (fx - x.lo) / (x.hi - x.lo);
    const double shown = log_x ? std::pow(10.0, fx) : fx;
    absl::StrAppendFormat(&s,
                          "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                          "stroke=\"#ddd\"/>\n"
                          "<text class=\"xtick\" x=\"%.1f\" y=\"%.1f\" "
                          "font-size=\"11\" text-anchor=\"middle\">%s</text>\n",
                          px, kTop, px, kTop + plot_h, px, kTop + plot_h + 16,
                          log_x ? HumanNumber(std::round(shown))
                                : TickLabel(shown, integer_x));
  }
  for (double fy : Ticks(y.lo, y.hi, false)) {
    const double py = kTop + plot_h - plot_h * (fy - y.lo) / (y.hi - y.lo);
    absl::StrAppendFormat(&s,
                          "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                          "stroke=\"#ddd\"/>\n"
                          "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" "
                          "text-anchor=\"end\">%s</text>\n",
                          kLeft, py, kLeft + plot_w, py, kLeft - 6, py + 4,
                          TickLabel(fy, false));
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
                     const std::vector<Series>& series,
                     const ChartOptions& options) {
  auto tx = [&](double v) {
    return options.log_x ? std::log10(std::max(v, 1e-12)) : v;
  };
  Range x;
  Range y;
  for (const Series& s : series) {
    for (const auto& [px, py] : s.points) {
      x.Add(tx(px));
      y.Add(py);
    }
    for (const auto& [lo, hi] : s.band) {
      y.Add(lo);
      y.Add(hi);
    }
  }
  // Counts start from zero.
  if (options.integer_x && !options.log_x) x.Add(0);
  x.Fix();
  y.Fix();
  Layout layout;
  if (options.legend_outside) {
    layout.width = kWidth + 150;
    layout.plot_w = kWidth - kLeft - kRight;
  }
  const double plot_w = layout.plot_w;
  const double plot_h = layout.plot_h;
  auto sx = [&](double v) {
    return kLeft + plot_w * (tx(v) - x.lo) / (x.hi - x.lo);
  };
  auto sy = [&](double v) { return kTop + plot_h - plot_h * (v - y.lo) / (y.hi - y.lo); };
  std::string svg =
      Frame(title, x_label, y_label, x, y, layout, options.integer_x,
            options.log_x);
  int legend = 0;
  for (const Series& s : series) {
    absl::StrAppendFormat(&svg, "<g class=\"series\" data-name=\"%s\">\n",
                          Escape(s.name));
    if (s.line && s.band.size() == s.points.size() && !s.band.empty()) {
      std::string polygon;
      for (size_t i = 0; i < s.points.size(); ++i) {
        absl::StrAppendFormat(&polygon, "%.1f,%.1f ", sx(s.points[i].first),
                              sy(s.band[i].second));
      }
      for (size_t i = s.points.size(); i-- > 0;) {
        absl::StrAppendFormat(&polygon, "%.1f,%.1f ", sx(s.points[i].first),
                              sy(s.band[i].first));
      }
      absl::StrAppendFormat(&svg,
                            "<polygon class=\"band\" fill=\"%s\" "
                            "fill-opacity=\"0.18\" stroke=\"none\" "
                            "points=\"%s\"/>\n",
                            s.color, polygon);
    }
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
    const double legend_x =
        options.legend_outside ? kLeft + plot_w + 16 : kLeft + 10;
    absl::StrAppendFormat(&svg,
                          "<rect class=\"legend\" x=\"%.0f\" y=\"%.0f\" "
                          "width=\"12\" height=\"12\" fill=\"%s\"/>"
                          "<text x=\"%.0f\" y=\"%.0f\" "
                          "font-size=\"12\">%s</text>\n",
                          legend_x, kTop + 10 + 18 * legend, s.color,
                          legend_x + 18, kTop + 20 + 18 * legend,
                          Escape(s.name));
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
  const Layout layout;
  const double plot_w = layout.plot_w;
  const double plot_h = layout.plot_h;
  std::string svg = Frame(title, x_label, "models", x, y, layout,
                          /*integer_x=*/false, /*log_x=*/false);
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
