#ifndef PDP_SERVER_TOKEN_TRUST_H_
#define PDP_SERVER_TOKEN_TRUST_H_

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "pdp/server/config.h"
#include "pdp/token_source.h"
#include "pdp/token/token_settings.h"
#include "pdp/token/token_verifier.h"

namespace pdp::server {

// What the server trusts to sign tokens: the settings file of the config's
// `tokens` section and a verifier (with its cache) built from them. A
// background thread re-reads the settings and JWK set files when one
// changes; a file that no longer loads is reported and the previous
// settings stay in force.
// The Engine's TokenSource. Thread-safe.
class TokenTrust final : public TokenSource {
 public:
  // Loads the settings file, if `config.settings` names one, and starts
  // watching it. Returns InvalidArgument with the file's errors.
  static absl::StatusOr<std::unique_ptr<TokenTrust>> Start(
      const ServerConfig::Tokens& config);

  // Stops the watcher.
  ~TokenTrust();

  TokenTrust(const TokenTrust&) = delete;
  TokenTrust& operator=(const TokenTrust&) = delete;

  // The settings in force (with no file: no issuers, default limits) and
  // the verifier over them; a reload replaces both.
  Current current() const override;

  // Re-reads the files if any changed since the last load. Returns the
  // load error, if any; the previous settings then stay.
  absl::Status ReloadIfChanged();

 private:
  explicit TokenTrust(const ServerConfig::Tokens& config);
  void Install(std::shared_ptr<const token::TokenSettings> settings);
  absl::Status Load();
  // Size, modification time and inode of every file the settings read.
  std::string Fingerprint() const;

  const ServerConfig::Tokens config_;
  mutable absl::Mutex mu_;
  Current current_ ABSL_GUARDED_BY(mu_);
  std::string fingerprint_ ABSL_GUARDED_BY(mu_);
  absl::Notification stop_;
  std::thread watcher_;
};

}  // namespace pdp::server

#endif  // PDP_SERVER_TOKEN_TRUST_H_
