// ssb_spawn_probe: starts a server and times it to "TCP port accepting" with a clock that does
// not include the caller's own process-spawn cost (Node's child_process.spawn costs ~10 ms here,
// more than our whole server start). Used by bench/net/net_bench.js for the cold-start figures.
//
//   ssb_spawn_probe PORT CMD [ARG...]   spawn CMD, poll 127.0.0.1:PORT every 100 µs; when it
//                                       accepts, write one JSON line to fd 3 (stdout if fd 3 is
//                                       not open): {"pid":N,"t0":S,"port":S} where t0 and port
//                                       are CLOCK_MONOTONIC seconds (the clock of Node's
//                                       process.hrtime). Then wait for CMD; SIGTERM/SIGINT are
//                                       passed on. Exit status: CMD's.
//   ssb_spawn_probe - CMD [ARG...]      spawn CMD and wait for it; the line has "exit" instead
//                                       of "port" (what spawning alone costs).
// CMD's stdin, stdout and stderr are ours.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

extern char** environ;

namespace {

volatile sig_atomic_t g_child = 0;

double Monotonic() {
  timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) / 1e9;
}

void Forward(int sig) {
  if (g_child > 0) kill(g_child, sig);
}

bool Accepting(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  close(fd);
  return ok;
}

void Report(const std::string& line) {
  int out = fcntl(3, F_GETFD) == -1 ? 1 : 3;
  std::string s = line + "\n";
  (void)!write(out, s.data(), s.size());
}

int ExitCode(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: ssb_spawn_probe PORT|- CMD [ARG...]\n");
    return 2;
  }
  bool wait_only = std::strcmp(argv[1], "-") == 0;
  int port = wait_only ? 0 : std::atoi(argv[1]);
  if (!wait_only && (port <= 0 || port > 65535)) {
    std::fprintf(stderr, "ssb_spawn_probe: bad port %s\n", argv[1]);
    return 2;
  }
  struct sigaction sa {};
  sa.sa_handler = Forward;
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);

  double t0 = Monotonic();
  pid_t pid;
  int rc = posix_spawn(&pid, argv[2], nullptr, nullptr, argv + 2, environ);
  if (rc != 0) {
    std::fprintf(stderr, "ssb_spawn_probe: cannot start %s: %s\n", argv[2], std::strerror(rc));
    return 2;
  }
  g_child = pid;
  char buf[160];
  int status = 0;
  if (wait_only) {
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    std::snprintf(buf, sizeof buf, "{\"pid\":%d,\"t0\":%.6f,\"exit\":%.6f}", static_cast<int>(pid), t0,
                  Monotonic());
    Report(buf);
    return ExitCode(status);
  }
  for (;;) {
    if (Accepting(port)) {
      double t = Monotonic();
      std::snprintf(buf, sizeof buf, "{\"pid\":%d,\"t0\":%.6f,\"port\":%.6f}", static_cast<int>(pid),
                    t0, t);
      Report(buf);
      break;
    }
    if (waitpid(pid, &status, WNOHANG) == pid) {
      std::fprintf(stderr, "ssb_spawn_probe: %s exited before port %d accepted\n", argv[2], port);
      return ExitCode(status);
    }
    timespec pause{0, 100 * 1000};
    nanosleep(&pause, nullptr);
  }
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
  return ExitCode(status);
}
