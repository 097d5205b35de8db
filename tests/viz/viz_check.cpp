// viz_check: checks glassbox-viz screenshots (PNG) and reports (--report JSON) for the ctest tests.
//
//   viz_check png SHOT.png                          the image is not blank (colours vary)
//   viz_check report REPORT.json [--panel P] [--no-error] [--error TEXT] [--warning TEXT]
//                                [--region NAME]... [--no-region NAME]...
//                                                   the report says what the test expects
//   viz_check colour SHOT.png REPORT.json REGION red|yellow
//                                                   a banner region is drawn in that colour
//   viz_check rows-increase SHOT.png REPORT.json REGION
//                                                   in a rows x cols grid region, each row is drawn
//                                                   brighter than the one above (heat strips whose
//                                                   values rise with the layer index)
//   viz_check attention-synthetic SHOT.png REPORT.json REGION
//                                                   a T x T map of head 0 of synthetic_attention()
//                                                   (p[i][j] = (j+1) / sum_{k<=i} (k+1)): brighter
//                                                   to the right along a row, darker down a column,
//                                                   and the masked triangle j > i left empty
// Exit status 0 when the check holds, 1 with a one-line reason when not, 2 on bad usage.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <stb_image.h>

namespace {

struct Image {
  int w = 0, h = 0;
  std::vector<unsigned char> rgb;
  const unsigned char* at(int x, int y) const { return &rgb[(static_cast<size_t>(y) * w + x) * 3]; }
};

int fail(const std::string& why) {
  std::fprintf(stderr, "viz_check: FAIL: %s\n", why.c_str());
  return 1;
}

bool load_png(const std::string& path, Image* img) {
  int channels = 0;
  unsigned char* data = stbi_load(path.c_str(), &img->w, &img->h, &channels, 3);
  if (!data) return false;
  img->rgb.assign(data, data + static_cast<size_t>(img->w) * img->h * 3);
  stbi_image_free(data);
  return true;
}

bool load_json(const std::string& path, nlohmann::json* j) {
  std::ifstream in(path);
  if (!in) return false;
  *j = nlohmann::json::parse(in, nullptr, false);
  return !j->is_discarded();
}

float luma(const unsigned char* p) { return 0.2126f * p[0] + 0.7152f * p[1] + 0.0722f * p[2]; }

// Mean RGB over a rectangle (clipped to the image).
void mean_rgb(const Image& img, double x0, double y0, double x1, double y1, double out[3]) {
  out[0] = out[1] = out[2] = 0;
  int n = 0;
  for (int y = std::max(0, static_cast<int>(y0)); y < std::min(img.h, static_cast<int>(y1)); y++)
    for (int x = std::max(0, static_cast<int>(x0)); x < std::min(img.w, static_cast<int>(x1));
         x++) {
      for (int c = 0; c < 3; c++) out[c] += img.at(x, y)[c];
      n++;
    }
  for (int c = 0; c < 3; c++) out[c] /= std::max(1, n);
}

int check_png(const std::string& path) {
  Image img;
  if (!load_png(path, &img)) return fail("cannot read " + path);
  // Not blank: the brightness varies (std dev) and many distinct colours appear.
  double sum = 0, sum2 = 0;
  std::vector<bool> seen(1 << 15, false);
  int distinct = 0;
  for (int y = 0; y < img.h; y++)
    for (int x = 0; x < img.w; x++) {
      const unsigned char* p = img.at(x, y);
      const double l = luma(p);
      sum += l;
      sum2 += l * l;
      const int key = (p[0] >> 3) << 10 | (p[1] >> 3) << 5 | (p[2] >> 3);
      if (!seen[key]) {
        seen[key] = true;
        distinct++;
      }
    }
  const double n = static_cast<double>(img.w) * img.h;
  const double stddev = std::sqrt(std::max(0.0, sum2 / n - (sum / n) * (sum / n)));
  std::printf("%s: %dx%d, luma std %.1f, %d distinct colours\n", path.c_str(), img.w, img.h, stddev,
              distinct);
  if (img.w < 100 || img.h < 100) return fail("image is too small");
  if (stddev < 5.0 || distinct < 40) return fail("image looks blank");
  return 0;
}

int check_report(int argc, char** argv) {
  nlohmann::json j;
  if (!load_json(argv[2], &j)) return fail(std::string("cannot read report ") + argv[2]);
  auto contains = [&](const char* key, const std::string& text) {
    for (const auto& s : j[key])
      if (s.get<std::string>().find(text) != std::string::npos) return true;
    return false;
  };
  for (int i = 3; i < argc; i++) {
    const std::string flag = argv[i];
    if (flag == "--no-error") {
      if (!j["errors"].empty())
        return fail("unexpected error: " + j["errors"][0].get<std::string>());
      continue;
    }
    if (i + 1 >= argc) {
      std::fprintf(stderr, "viz_check: %s needs a value\n", flag.c_str());
      return 2;
    }
    const std::string value = argv[++i];
    if (flag == "--panel") {
      if (j["panel"] != value) return fail("panel is " + j["panel"].dump() + ", expected " + value);
    } else if (flag == "--error") {
      if (!contains("errors", value))
        return fail("no error containing '" + value + "': " + j["errors"].dump());
    } else if (flag == "--warning") {
      if (!contains("warnings", value))
        return fail("no warning containing '" + value + "': " + j["warnings"].dump());
    } else if (flag == "--region") {
      if (!j["regions"].contains(value)) return fail("region " + value + " was not drawn");
    } else if (flag == "--no-region") {
      if (j["regions"].contains(value)) return fail("region " + value + " was drawn");
    } else {
      std::fprintf(stderr, "viz_check: unknown flag %s\n", flag.c_str());
      return 2;
    }
  }
  std::printf("%s: as expected\n", argv[2]);
  return 0;
}

int check_colour(const std::string& png, const std::string& report, const std::string& region,
                 const std::string& colour) {
  Image img;
  nlohmann::json j;
  if (!load_png(png, &img)) return fail("cannot read " + png);
  if (!load_json(report, &j)) return fail("cannot read " + report);
  if (!j["regions"].contains(region)) return fail("region " + region + " was not drawn");
  const auto& r = j["regions"][region];
  const double x = r["x"], y = r["y"], w = r["w"], h = r["h"];
  double m[3];
  mean_rgb(img, x, y, x + w, y + h, m);
  std::printf("%s: mean colour (%.0f, %.0f, %.0f)\n", region.c_str(), m[0], m[1], m[2]);
  const bool ok = colour == "red" ? (m[0] > m[1] + 40 && m[0] > m[2] + 40)
                                  : (m[0] > m[2] + 30 && m[1] > m[2] + 20);  // yellow-brown
  return ok ? 0 : fail(region + " is not " + colour);
}

int check_rows_increase(const std::string& png, const std::string& report,
                        const std::string& region) {
  Image img;
  nlohmann::json j;
  if (!load_png(png, &img)) return fail("cannot read " + png);
  if (!load_json(report, &j)) return fail("cannot read " + report);
  if (!j["regions"].contains(region)) return fail("region " + region + " was not drawn");
  const auto& r = j["regions"][region];
  const double x = r["x"], y = r["y"], w = r["w"], h = r["h"];
  const int rows = r["rows"], cols = r["cols"];
  if (rows < 2 || cols < 1) return fail(region + " has no grid");
  const double rh = h / rows;
  // Each row's brightness: the middle half of its height over the whole width.
  std::vector<double> row_luma(rows);
  for (int l = 0; l < rows; l++) {
    double m[3];
    mean_rgb(img, x, y + (l + 0.25) * rh, x + w, y + (l + 0.75) * rh, m);
    row_luma[l] = 0.2126 * m[0] + 0.7152 * m[1] + 0.0722 * m[2];
    std::printf("%s row %2d: luma %.1f\n", region.c_str(), l, row_luma[l]);
  }
  for (int l = 1; l < rows; l++)
    if (!(row_luma[l] > row_luma[l - 1] + 1.0))
      return fail(region + ": row " + std::to_string(l) + " is not brighter than row " +
                  std::to_string(l - 1));
  if (row_luma[rows - 1] - row_luma[0] < 80)
    return fail(region + ": too little contrast between first and last row");
  return 0;
}

int check_attention_synthetic(const std::string& png, const std::string& report,
                              const std::string& region) {
  Image img;
  nlohmann::json j;
  if (!load_png(png, &img)) return fail("cannot read " + png);
  if (!load_json(report, &j)) return fail("cannot read " + report);
  if (!j["regions"].contains(region)) return fail("region " + region + " was not drawn");
  const auto& r = j["regions"][region];
  const double x = r["x"], y = r["y"], w = r["w"], h = r["h"];
  const int T = r["rows"];
  if (T < 3 || r["cols"] != T) return fail(region + " is not a square grid of at least 3 x 3");
  const double cw = w / T, ch = h / T;
  auto cell = [&](int i, int k) {  // the middle half of cell (row i, column k)
    double m[3];
    mean_rgb(img, x + (k + 0.25) * cw, y + (i + 0.25) * ch, x + (k + 0.75) * cw,
             y + (i + 0.75) * ch, m);
    return 0.2126 * m[0] + 0.7152 * m[1] + 0.0722 * m[2];
  };
  for (int i = 0; i < T; i++) {
    std::printf("row %2d:", i);
    for (int k = 0; k < T; k++) std::printf(" %5.1f", cell(i, k));
    std::printf("\n");
  }
  for (int k = 1; k < T; k++)  // the last query attends more to later keys
    if (!(cell(T - 1, k) > cell(T - 1, k - 1) + 0.5))
      return fail("last row: column " + std::to_string(k) + " is not brighter than column " +
                  std::to_string(k - 1));
  for (int i = 1; i < T; i++)  // key 0's share shrinks as queries see more keys
    if (!(cell(i, 0) < cell(i - 1, 0) - 0.5))
      return fail("column 0: row " + std::to_string(i) + " is not darker than row " +
                  std::to_string(i - 1));
  const double masked = cell(0, T - 1);
  for (int i = 0; i < T; i++)
    for (int k = i + 1; k < T; k++)
      if (std::fabs(cell(i, k) - masked) > 2.0 || cell(i, k) > 45.0)
        return fail("masked cell (" + std::to_string(i) + ", " + std::to_string(k) + ") is drawn");
  if (!(cell(0, 0) > 200.0))
    return fail("cell (0, 0) holds p = 1 and should be the brightest colour");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string cmd = argc > 1 ? argv[1] : "";
  if (cmd == "png" && argc == 3) return check_png(argv[2]);
  if (cmd == "report" && argc >= 3) return check_report(argc, argv);
  if (cmd == "colour" && argc == 6) return check_colour(argv[2], argv[3], argv[4], argv[5]);
  if (cmd == "rows-increase" && argc == 5) return check_rows_increase(argv[2], argv[3], argv[4]);
  if (cmd == "attention-synthetic" && argc == 5)
    return check_attention_synthetic(argv[2], argv[3], argv[4]);
  std::fprintf(stderr,
               "usage: viz_check png|report|colour|rows-increase|attention-synthetic ... (see "
               "viz_check.cpp)\n");
  return 2;
}
