// A throwaway TLS identity for tests that run a real server over TLS.
#pragma once

#include <string>

namespace qbench::testing {

struct TlsPair {
  std::string cert, key;  // PEM
};

// A self-signed P-256 certificate for localhost and 127.0.0.1 that is its own root
// (CA:TRUE), valid for the next hour, and its private key.
TlsPair SelfSignedLocalhost();

}  // namespace qbench::testing
