// The roofline picture of `vqvae bench --plot` (docs/bench.md shows one): gnuplot draws, from
// data files, one ceiling per instruction set and the bandwidth slopes, then the measured cases.
#include <vqvae/bench/bench.h>

#include <vqvae/core/format.h>
#include <vqvae/experiment/gnuplot.h>

#include <algorithm>
#include <fstream>
#include <sstream>

namespace vqvae {
namespace {

// One gnuplot data line per case: intensity (flop/byte), GFLOP/s.
void write_points(const std::string& file, const std::vector<std::pair<double, double>>& points) {
  std::ofstream out(file);
  for (const auto& [intensity, gflops] : points) out << intensity << ' ' << gflops << '\n';
}

}  // namespace

std::string plot_roofline(const std::string& path, const std::vector<FmaPeak>& peaks,
                          const std::vector<Bandwidth>& bandwidth, const std::vector<SearchCase>& search,
                          const std::vector<StepCase>& steps) {
  return draw_with_gnuplot(path, 900, 700, [&](const std::string& folder) {
    std::ostringstream script;
    double top = 1;
    for (const FmaPeak& p : peaks)
      if (p.threads == 1) top = std::max(top, p.gflops);
    script << "set title 'Roofline, 1 thread: attainable GFLOP/s = min(FMA peak, flop/byte × bandwidth)'\n"
           << "set logscale xy\nset xrange [0.125:2048]\nset yrange [0.5:" << 3 * top << "]\n"
           << "set xlabel 'arithmetic intensity (flop per byte moved to or from memory)'\n"
           << "set ylabel 'GFLOP/s'\nset grid xtics ytics mxtics mytics lc rgb '#dddddd'\n"
           << "set mxtics 10\nset mytics 10\nset key inside right bottom box opaque\nset samples 400\n";
    // Ceilings: each instruction set's peak against the memory bandwidth (the largest arrays').
    const double memory = memory_bandwidth(bandwidth, 1);
    int64_t largest = 0;  // the memory's row: drawn apart from the caches' slopes
    for (const Bandwidth& b : bandwidth) largest = std::max(largest, b.bytes_per_array);
    std::vector<std::string> plots;
    const char* colours[] = {"#888888", "#1b9e77", "#d95f02"};
    for (const FmaPeak& p : peaks) {
      if (p.threads != 1) continue;
      plots.push_back("(x * " + std::to_string(memory) + " < " + std::to_string(p.gflops) + " ? x * " +
                      std::to_string(memory) + " : " + std::to_string(p.gflops) + ") with lines lw 2 lc rgb '" +
                      colours[static_cast<int>(p.isa) % 3] + "' title '" + kernels::to_string(p.isa) +
                      " FMA peak " + format_fixed(p.gflops, 1) + " GFLOP/s'");
    }
    // The bandwidth slopes of the cache levels: where a kernel's data stays in a cache.
    for (const Bandwidth& b : bandwidth) {
      if (b.threads != 1 || b.bytes_per_array == largest) continue;
      plots.push_back("(x * " + std::to_string(b.gbs) + " < " + std::to_string(top) + " ? x * " +
                      std::to_string(b.gbs) + " : 1/0) with lines dt 2 lc rgb '#7570b3' title 'triad, " +
                      format_bytes(static_cast<double>(b.bytes_per_array)) + " arrays: " + format_fixed(b.gbs, 1) +
                      " GB/s'");
    }
    plots.push_back("(x * " + std::to_string(memory) + " < " + std::to_string(top) + " ? x * " +
                    std::to_string(memory) + " : 1/0) with lines dt 1 lw 1 lc rgb '#7570b3' title 'memory " +
                    format_fixed(memory, 1) + " GB/s (triad, largest arrays)'");
    // The measured cases, one point type per family.
    const auto series = [&](const std::string& name, const std::string& title, const std::string& style,
                            const std::vector<std::pair<double, double>>& points) {
      if (points.empty()) return;
      write_points(folder + "/" + name, points);
      plots.push_back(gnuplot_quoted(folder + "/" + name) + " using 1:2 " + style + " title '" + title + "'");
    };
    for (const int64_t k : {8, 64}) {
      std::vector<std::pair<double, double>> points;
      for (const SearchCase& c : search)
        if (c.k == k) points.emplace_back(c.flop_per_byte(), c.gflops);
      series("search_k" + std::to_string(k) + ".dat", "search, k = " + std::to_string(k) + " (B, n of the table)",
             k == 8 ? "with points pt 7 ps 1.2 lc rgb '#e7298a'" : "with points pt 5 ps 1.2 lc rgb '#66a61e'", points);
    }
    std::vector<std::pair<double, double>> step_points;
    for (const StepCase& c : steps)
      step_points.emplace_back(c.work.flop_per_byte(), c.fused_gflops());
    series("steps.dat", "fused training step (every quantizer, batch 64-1024)", "with points pt 9 ps 1.4 lc rgb '#000000'",
           step_points);
    script << "plot ";
    for (size_t i = 0; i < plots.size(); ++i) script << (i ? ", \\\n     " : "") << plots[i];
    script << "\n";
    return script.str();
  });
}

}  // namespace vqvae
