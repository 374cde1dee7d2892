#include <vqvae/experiment/gnuplot.h>

#include <vqvae/io/atomic_file.h>

#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>

namespace vqvae {

std::string gnuplot_quoted(const std::string& text) {
  std::string quoted = "'";
  for (const char c : text) quoted += c == '\'' ? std::string("''") : std::string(1, c);
  return quoted + "'";
}

std::string draw_with_gnuplot(const std::string& path, int width, int height,
                              const std::function<std::string(const std::string& folder)>& body) {
  if (std::system("command -v gnuplot > /dev/null 2>&1") != 0)
    return "gnuplot not found (apt-get install gnuplot-nox): plot skipped";
  char folder_template[] = "/tmp/vqvae-plot-XXXXXX";
  const char* created = mkdtemp(folder_template);
  if (!created) return "cannot create a temporary folder: plot skipped";
  const std::string folder = created;
  std::string message;
  try {
    AtomicFile image(path);
    const bool svg = path.size() >= 4 && path.compare(path.size() - 4, 4, ".svg") == 0;
    const std::string size = std::to_string(width) + "," + std::to_string(height);
    const std::string script = folder + "/plot.gp", log = folder + "/gnuplot.log";
    {
      std::ofstream out(script);
      out << (svg ? "set terminal svg size " + size + " dynamic noenhanced background rgb 'white'\n"
                  : "set terminal pngcairo size " + size + " noenhanced font 'sans,10'\n");
      out << "set output " << gnuplot_quoted(image.temporary_path()) << "\n" << body(folder);
    }
    const std::string command = "gnuplot " + gnuplot_quoted(script) + " > " + gnuplot_quoted(log) + " 2>&1";
    if (std::system(command.c_str()) != 0) {
      std::ifstream in(log);
      std::string line;
      std::getline(in, line);
      message = "gnuplot failed: " + line;
    } else {
      image.commit();
    }
  } catch (const IoError& e) {
    message = e.what();
  }
  std::error_code ignored;
  std::filesystem::remove_all(folder, ignored);
  return message;
}

}  // namespace vqvae
