// Real JPEG and PNG files for the image tests, written with TurboJPEG and
// libpng (the libraries amoeba decodes with), and header surgery that makes
// a small file claim a huge size. Failures throw std::runtime_error, which
// Catch2 reports as a failed test case.
#ifndef AMOEBA_TESTING_TEST_IMAGES_H_
#define AMOEBA_TESTING_TEST_IMAGES_H_

#include <cstdint>
#include <string>
#include <vector>

#include "testing/test_files.h"  // WriteTestFile

namespace amoeba {

// A w x h JPEG of one colour (`colour` has the pixel format's channels:
// TJPF_RGB 3, TJPF_GRAY 1, TJPF_CMYK 4), quality 95.
std::string SolidJpeg(int w, int h, std::vector<int> colour, int pixel_format,
                      int subsampling);

// A w x h RGB JPEG from row-major RGB bytes, quality 95, 4:4:4.
std::string RgbJpeg(int w, int h, const std::vector<uint8_t>& rgb);

// A w x h RGB PNG of one colour at `path`.
void WriteSolidPng(const std::string& path, int w, int h, std::vector<int> rgb);

// `jpeg` with its frame header (SOF0) claiming width x height.
std::string WithJpegSize(std::string jpeg, int width, int height);

// `png` with its IHDR claiming width x height (and a valid CRC).
std::string WithPngSize(std::string png, uint32_t width, uint32_t height);

}  // namespace amoeba

#endif  // AMOEBA_TESTING_TEST_IMAGES_H_
