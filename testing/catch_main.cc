// The one translation unit that compiles Catch2's runner; every cc_test links
// it so each test file compiles only its own cases.
//
// It also registers a listener that prints one machine-readable line at the
// end of every run, "amoeba-test-totals: P passed, F failed" (test cases),
// which deploy/run_tests.sh adds up across all test binaries.
#define CATCH_CONFIG_MAIN
#include "catch2/catch.hpp"

#include <iostream>

namespace amoeba {
namespace {

class TotalsListener : public Catch::TestEventListenerBase {
 public:
  using TestEventListenerBase::TestEventListenerBase;

  void testRunEnded(const Catch::TestRunStats& stats) override {
    std::cout << "amoeba-test-totals: " << stats.totals.testCases.passed
              << " passed, " << stats.totals.testCases.failed << " failed"
              << std::endl;
  }
};

CATCH_REGISTER_LISTENER(TotalsListener)

}  // namespace
}  // namespace amoeba
