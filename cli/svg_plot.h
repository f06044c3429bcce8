// Small, dependency-free SVG charts for `amoeba report`.
#ifndef AMOEBA_CLI_SVG_PLOT_H_
#define AMOEBA_CLI_SVG_PLOT_H_

#include <string>
#include <utility>
#include <vector>

namespace amoeba {

struct Series {
  std::string name;
  std::string color;
  std::vector<std::pair<double, double>> points;
  bool line = false;  // a polyline; otherwise dots
  // Optional, for a line: a shaded band (low, high) at each point (e.g.
  // plus/minus one standard error).
  std::vector<std::pair<double, double>> band;
};

struct ChartOptions {
  // Ticks on whole numbers only (counts).
  bool integer_x = false;
  // The legend to the right of the plot, never over the data.
  bool legend_outside = false;
  // A logarithmic x axis (positive values).
  bool log_x = false;
};

// An x/y chart with axes, round ticks, labels and a legend.
std::string SvgChart(const std::string& title, const std::string& x_label,
                     const std::string& y_label,
                     const std::vector<Series>& series,
                     const ChartOptions& options = ChartOptions());

// A histogram of `values` in `bins` equal bins over [min, max] of the data.
std::string SvgHistogram(const std::string& title, const std::string& x_label,
                         const std::vector<double>& values, int bins);

}  // namespace amoeba

#endif  // AMOEBA_CLI_SVG_PLOT_H_
