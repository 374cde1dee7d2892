// A conformance driver built from this library (docs/conform_protocol.md): it runs each request
// case with the library's own classes and writes the response, so `vqvae conform` can check the
// library exactly as it checks another implementation — the protocol is not tuned to Python.
//   vqvae_library_driver REQUEST.h5 RESPONSE.h5
#include <vqvae/tensor/runtime.h>
#include <vqvae/conform/protocol.h>

#include <exception>
#include <iostream>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: vqvae_library_driver REQUEST.h5 RESPONSE.h5" << std::endl;
    return 2;
  }
  try {
    vqvae::set_threads(1);
    std::vector<vqvae::GoldenRecord> responses;
    for (const vqvae::GoldenRecord& request : vqvae::read_conform_request(argv[1])) {
      try {
        responses.push_back(vqvae::execute_with_library(request));
      } catch (const std::exception& e) {
        vqvae::GoldenRecord failed;
        failed.name = request.name;
        const std::string what = e.what();
        failed.attributes = {{"status", std::string("error")}, {"detail", what.substr(0, what.find('\n'))}};
        responses.push_back(failed);
      }
    }
    vqvae::write_conform_response(argv[2], responses, "vqvae library driver " + vqvae::library_version());
  } catch (const std::exception& e) {
    const std::string what = e.what();
    std::cerr << "vqvae_library_driver: " << what.substr(0, what.find('\n')) << std::endl;
    return 1;
  }
  return 0;
}
