#pragma once
// The paper's test errors (NIPS 2014 proceedings, Tables 1 and 2, not the arXiv version), the one
// place the library holds them. Each entry names the table, our row id (the directory a
// reproduction trains it in) and how the paper describes the model.
#include <string_view>

namespace ram {

struct PaperResult {
  std::string_view table;  // "1a", "1b", "2a", "2b"
  std::string_view row;    // ram-4g, ram-8g-random, fc64, fc256, conv
  std::string_view model;  // the paper's wording
  double error_percent;    // test error, %
};

inline constexpr PaperResult kPaperResults[] = {
    // Table 1a: 28x28 centred MNIST.
    {"1a", "fc256", "FC, 2 layers of 256 units", 1.69},
    {"1a", "conv", "Convolutional, 2 layers", 1.21},
    {"1a", "ram-2g", "RAM, 2 glimpses, 8x8, 1 scale", 3.79},
    {"1a", "ram-3g", "RAM, 3 glimpses, 8x8, 1 scale", 1.51},
    {"1a", "ram-4g", "RAM, 4 glimpses, 8x8, 1 scale", 1.54},
    {"1a", "ram-5g", "RAM, 5 glimpses, 8x8, 1 scale", 1.34},
    {"1a", "ram-6g", "RAM, 6 glimpses, 8x8, 1 scale", 1.12},
    {"1a", "ram-7g", "RAM, 7 glimpses, 8x8, 1 scale", 1.07},
    // Table 1b: 60x60 translated MNIST.
    {"1b", "fc64", "FC, 2 layers of 64 units", 6.42},
    {"1b", "fc256", "FC, 2 layers of 256 units", 2.63},
    {"1b", "conv", "Convolutional, 2 layers", 1.62},
    {"1b", "ram-4g", "RAM, 4 glimpses, 12x12, 3 scales", 1.54},
    {"1b", "ram-6g", "RAM, 6 glimpses, 12x12, 3 scales", 1.22},
    {"1b", "ram-8g", "RAM, 8 glimpses, 12x12, 3 scales", 1.2},
    // Table 2a: 60x60 cluttered MNIST, 4 pieces of clutter.
    {"2a", "fc64", "FC, 2 layers of 64 units", 28.58},
    {"2a", "fc256", "FC, 2 layers of 256 units", 11.96},
    {"2a", "conv", "Convolutional, 2 layers", 8.09},
    {"2a", "ram-4g", "RAM, 4 glimpses, 12x12, 3 scales", 4.96},
    {"2a", "ram-6g", "RAM, 6 glimpses, 12x12, 3 scales", 4.08},
    {"2a", "ram-8g", "RAM, 8 glimpses, 12x12, 3 scales", 4.04},
    {"2a", "ram-8g-random", "RAM, 8 random glimpses", 14.4},
    // Table 2b: 100x100 cluttered MNIST, 8 pieces of clutter.
    {"2b", "conv", "Convolutional, 2 layers", 14.35},
    {"2b", "ram-4g", "RAM, 4 glimpses, 12x12, 4 scales", 9.41},
    {"2b", "ram-6g", "RAM, 6 glimpses, 12x12, 4 scales", 8.31},
    {"2b", "ram-8g", "RAM, 8 glimpses, 12x12, 4 scales", 8.11},
    {"2b", "ram-8g-random", "RAM, 8 random glimpses", 28.4},
};

}  // namespace ram
