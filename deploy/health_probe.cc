// qbench-health-probe: asks a gRPC server's standard health service (grpc.health.v1.Health/
// Check, which qbench-server enables) whether it is SERVING; the containers' health check.
// Debian's libgrpc++ ships no health.proto, so the call goes through a generic stub and the
// two one-field messages are handled as protobuf unknown-field sets:
//   HealthCheckRequest  { string service = 1; }
//   HealthCheckResponse { ServingStatus status = 1; }  (0 UNKNOWN, 1 SERVING, 2 NOT_SERVING)
// Exit status: 0 serving, 1 not serving or unreachable, 2 usage.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <google/protobuf/unknown_field_set.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include "common/flags.h"

namespace {

constexpr qbench::FlagSpec kFlags[] = {
    {"--server", "HOST:PORT", "the server (default 127.0.0.1:50051)"},
    {"--insecure", nullptr, "plaintext instead of TLS"},
    {"--ca", "FILE", "PEM root certificates for TLS (default: the system's)"},
    {"--authority", "NAME", "the name the server's certificate must carry (default: the host in --server)"},
    {"--service", "NAME", "the service to ask about (default \"\": the whole server)"},
    {"--timeout", "SECONDS", "give up after this long (default 3)"},
    {"--help", nullptr, "this help"},
};

std::string ReadFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

// HealthCheckResponse.status from its wire bytes: 0 (UNKNOWN) when absent, -1 when the
// bytes do not parse.
int ParseStatus(const std::string& bytes) {
  google::protobuf::UnknownFieldSet fields;
  if (!fields.ParseFromString(bytes)) return -1;
  int status = 0;
  for (int i = 0; i < fields.field_count(); ++i)
    if (fields.field(i).number() == 1 && fields.field(i).type() == google::protobuf::UnknownField::TYPE_VARINT)
      status = static_cast<int>(fields.field(i).varint());
  return status;
}

}  // namespace

int main(int argc, char** argv) {
  auto flags = qbench::ParseFlags(argc, argv, kFlags);
  if (!flags.ok()) {
    std::fprintf(stderr, "qbench-health-probe: %s\n%s", std::string(flags.status().message()).c_str(),
                 qbench::FlagHelp(kFlags).c_str());
    return 2;
  }
  std::string server = "127.0.0.1:50051", ca, authority, service;
  bool insecure = false, help = false;
  double timeout_s = 3;
  for (const auto& [name, value] : *flags) {
    if (name == "--server") server = value;
    else if (name == "--insecure") insecure = true;
    else if (name == "--ca") ca = value;
    else if (name == "--authority") authority = value;
    else if (name == "--service") service = value;
    else if (name == "--timeout") timeout_s = qbench::FlagDouble(name, value, 0.1).value_or(3);
    else if (name == "--help") help = true;
  }
  if (help) return std::printf("usage: qbench-health-probe [flags]\n%s", qbench::FlagHelp(kFlags).c_str()), 0;
  grpc::SslCredentialsOptions ssl;
  if (!ca.empty() && (ssl.pem_root_certs = ReadFile(ca)).empty()) {
    std::fprintf(stderr, "qbench-health-probe: --ca: cannot read \"%s\"\n", ca.c_str());
    return 2;
  }
  grpc::ChannelArguments args;
  if (!authority.empty()) args.SetSslTargetNameOverride(authority);
  auto credentials = insecure ? grpc::InsecureChannelCredentials() : grpc::SslCredentials(ssl);
  auto channel = grpc::CreateCustomChannel(server, credentials, args);

  google::protobuf::UnknownFieldSet request_fields;
  if (!service.empty()) request_fields.AddLengthDelimited(1, service);
  std::string request;
  request_fields.SerializeToString(&request);
  grpc::Slice slice(request);
  grpc::ByteBuffer request_buffer(&slice, 1), response_buffer;

  grpc::ClientContext context;
  const auto timeout = std::chrono::milliseconds(static_cast<int64_t>(timeout_s * 1e3));
  context.set_deadline(std::chrono::system_clock::now() + timeout);
  grpc::GenericStub stub(channel);
  grpc::CompletionQueue cq;
  auto call = stub.PrepareUnaryCall(&context, "/grpc.health.v1.Health/Check", request_buffer, &cq);
  call->StartCall();
  grpc::Status status;
  call->Finish(&response_buffer, &status, nullptr);
  void* tag = nullptr;
  bool ok = false;
  cq.Next(&tag, &ok);
  cq.Shutdown();
  while (cq.Next(&tag, &ok)) {
  }
  if (!status.ok()) {
    std::fprintf(stderr, "qbench-health-probe: %s: %s\n", server.c_str(), status.error_message().c_str());
    return 1;
  }
  std::vector<grpc::Slice> slices;
  std::string bytes;
  if (response_buffer.Dump(&slices).ok())
    for (const grpc::Slice& s : slices) bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  const int serving = ParseStatus(bytes);
  static const char* kNames[] = {"UNKNOWN", "SERVING", "NOT_SERVING", "SERVICE_UNKNOWN"};
  std::printf("%s\n", serving >= 0 && serving < 4 ? kNames[serving] : "MALFORMED");
  return serving == 1 ? 0 : 1;
}
