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
};

// An x/y chart with axes, ticks, labels and a legend.
std::string SvgChart(const std::string& title, const std::string& x_label,
                     const std::string& y_label,
                     const std::vector<Series>& series);

// A histogram of `values` in `bins` equal bins over [min, max] of the data.
std::string SvgHistogram(const std::string& title, const std::string& x_label,
                         const std::vector<double>& values, int bins);

}  // namespace amoeba

#endif  // AMOEBA_CLI_SVG_PLOT_H_
