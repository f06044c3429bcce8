#include "metrics/process_metrics.h"

#include <dirent.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "prometheus/client_metric.h"
#include "prometheus/metric_family.h"
#include "prometheus/metric_type.h"

namespace amoeba {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

MetricFamily One(const char* name, const char* help, MetricType type,
                 double value) {
  MetricFamily family;
  family.name = name;
  family.help = help;
  family.type = type;
  ClientMetric metric;
  if (type == MetricType::Counter) {
    metric.counter.value = value;
  } else {
    metric.gauge.value = value;
  }
  family.metric.push_back(metric);
  return family;
}

// Fields 14 (utime), 15 (stime) and 22 (starttime) of /proc/self/stat, in
// clock ticks; the command name (field 2) may hold spaces, so counting
// starts after its closing parenthesis.
bool ReadStat(double* cpu_ticks, double* start_ticks) {
  std::ifstream in("/proc/self/stat");
  std::string line;
  if (!std::getline(in, line)) return false;
  const size_t close = line.rfind(')');
  if (close == std::string::npos) return false;
  std::istringstream fields(line.substr(close + 2));
  std::vector<std::string> f;  // from field 3 (state) on
  for (std::string x; fields >> x;) f.push_back(x);
  if (f.size() < 20) return false;
  *cpu_ticks = std::stod(f[11]) + std::stod(f[12]);
  *start_ticks = std::stod(f[19]);
  return true;
}

double BootTime() {
  std::ifstream in("/proc/stat");
  for (std::string key; in >> key;) {
    if (key == "btime") {
      double t = 0;
      in >> t;
      return t;
    }
  }
  return 0;
}

class ProcessCollector : public prometheus::Collectable {
 public:
  std::vector<MetricFamily> Collect() const override {
    std::vector<MetricFamily> families;
    const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
    double cpu = 0;
    double start = 0;
    if (ticks > 0 && ReadStat(&cpu, &start)) {
      families.push_back(One("process_cpu_seconds_total",
                             "user and system CPU time of the process",
                             MetricType::Counter, cpu / ticks));
      families.push_back(One("process_start_time_seconds",
                             "start of the process, seconds since the epoch",
                             MetricType::Gauge, BootTime() + start / ticks));
    }
    std::ifstream statm("/proc/self/statm");
    double size_pages = 0;
    double resident_pages = 0;
    if (statm >> size_pages >> resident_pages) {
      const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
      families.push_back(One("process_resident_memory_bytes",
                             "resident memory of the process",
                             MetricType::Gauge, resident_pages * page));
      families.push_back(One("process_virtual_memory_bytes",
                             "virtual memory of the process",
                             MetricType::Gauge, size_pages * page));
    }
    if (DIR* dir = opendir("/proc/self/fd")) {
      double fds = 0;
      while (dirent* entry = readdir(dir)) {
        if (entry->d_name[0] != '.') ++fds;
      }
      closedir(dir);
      families.push_back(One("process_open_fds", "open file descriptors",
                             MetricType::Gauge, fds - 1));  // minus the DIR's
    }
    return families;
  }
};

}  // namespace

std::shared_ptr<prometheus::Collectable> ProcessMetrics() {
  return std::make_shared<ProcessCollector>();
}

}  // namespace amoeba
