// ssb-bundle: export and import signed SSB log ranges as verified, compressed bundles.
#include <iostream>

#include <CLI/CLI.hpp>

int main(int argc, char** argv) {
  CLI::App app{"ssb-bundle: sneakernet bundles of Secure Scuttlebutt feeds", "ssb-bundle"};
  std::string path;
  app.add_option("--path", path, "data directory (default $SSB_PATH, then ~/.ssb)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  std::cerr << "ssb-bundle: no bundle commands are available in this version yet\n";
  return 2;
}
