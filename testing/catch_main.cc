// The one translation unit that compiles Catch2's runner; every cc_test links
// it so each test file compiles only its own cases.
#define CATCH_CONFIG_MAIN
#include "catch2/catch.hpp"
