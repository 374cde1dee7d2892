// Running the driver of `vqvae conform` (detail/driver.h): the request written, the driver's
// process with its timeout and its stderr kept for the error message, the response read back and
// checked to answer every case.
#include <vqvae/conform/detail/driver.h>

#include <vqvae/core/format.h>

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

namespace vqvae::conform {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

std::string tail_of(const std::string& path, size_t lines_wanted) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) lines.push_back(line);
  std::string out;
  for (size_t i = lines.size() > lines_wanted ? lines.size() - lines_wanted : 0; i < lines.size(); ++i)
    out += (out.empty() ? "" : " | ") + lines[i];
  if (out.size() > 400) out = "..." + out.substr(out.size() - 400);
  return out.empty() ? "(nothing on stderr)" : out;
}

// Runs `command REQUEST RESPONSE` through /bin/sh in its own process group, stderr to a file;
// kills the group past `timeout`. Returns seconds taken; throws DriverError.
double run_driver(const std::string& command, const std::string& request, const std::string& response,
                  const std::string& stderr_path, double timeout) {
  const auto start = Clock::now();
  const std::string script = command + " \"$1\" \"$2\"";
  const pid_t pid = fork();
  if (pid < 0) throw DriverError("driver '" + command + "': cannot start a process");
  if (pid == 0) {
    setpgid(0, 0);
    const int err = open(stderr_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (err >= 0) dup2(err, 2);
    const int null = open("/dev/null", O_RDWR);
    if (null >= 0) {
      dup2(null, 0);
      dup2(null, 1);
    }
    execl("/bin/sh", "sh", "-c", script.c_str(), "sh", request.c_str(), response.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  setpgid(pid, pid);
  int status = 0;
  while (true) {
    const pid_t done = waitpid(pid, &status, WNOHANG);
    if (done == pid) break;
    if (std::chrono::duration<double>(Clock::now() - start).count() > timeout) {
      kill(-pid, SIGKILL);
      waitpid(pid, &status, 0);
      throw DriverError("driver '" + command + "' timed out after " + format_significant(timeout, 4) +
                        " s (--timeout); stderr: " + tail_of(stderr_path, 3));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  if (WIFSIGNALED(status))
    throw DriverError("driver '" + command + "' was killed by signal " + std::to_string(WTERMSIG(status)) +
                      "; stderr: " + tail_of(stderr_path, 3));
  if (WEXITSTATUS(status) != 0)
    throw DriverError("driver '" + command + "' exited with status " + std::to_string(WEXITSTATUS(status)) +
                      (WEXITSTATUS(status) == 127 ? " (command not found?)" : "") + "; stderr: " + tail_of(stderr_path, 3));
  return seconds;
}

}  // namespace

DriverAnswer ask_driver(const ConformOptions& options, const std::vector<GoldenRecord>& requests) {
  const bool keep = !options.keep_folder.empty();
  std::string folder = options.keep_folder;
  if (keep) {
    std::error_code ignored;
    fs::create_directories(folder, ignored);
  } else {
    char pattern[] = "/tmp/vqvae-conform-XXXXXX";
    if (!mkdtemp(pattern)) throw DriverError("cannot create a temporary folder for the request");
    folder = pattern;
  }
  struct Cleanup {
    std::string folder;
    bool keep;
    ~Cleanup() {
      if (!keep) {
        std::error_code ignored;
        fs::remove_all(folder, ignored);
      }
    }
  } cleanup{folder, keep};
  const std::string request_path = folder + "/request.h5", response_path = folder + "/response.h5";
  const std::string stderr_path = folder + "/driver_stderr.log";
  std::error_code ignored;
  fs::remove(response_path, ignored);
  write_conform_request(request_path, requests, options.command);

  DriverAnswer answer;
  answer.seconds = run_driver(options.driver, request_path, response_path, stderr_path, options.timeout_seconds);
  try {
    if (!fs::exists(response_path)) throw ConformProtocolError("it wrote no response file");
    answer.responses = read_conform_response(response_path, answer.driver_name);
  } catch (const ConformProtocolError& e) {
    throw DriverError("driver '" + options.driver + "' wrote a malformed response: " + e.what() +
                      "; stderr: " + tail_of(stderr_path, 3));
  }
  for (const GoldenRecord& r : requests)
    if (!answer.responses.count(r.name))
      throw DriverError("driver '" + options.driver + "' wrote a malformed response: no case '" + r.name +
                        "'; stderr: " + tail_of(stderr_path, 3));
  return answer;
}

}  // namespace vqvae::conform
