#include "pdp/server/token_trust.h"

#include <sys/stat.h>

#include <cstdio>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"

namespace pdp::server {

TokenTrust::TokenTrust(const ServerConfig::Tokens& config) : config_(config) {
  Install(std::make_shared<const token::TokenSettings>());
}

void TokenTrust::Install(std::shared_ptr<const token::TokenSettings> settings) {
  std::shared_ptr<const token::TokenVerifier> verifier = token::NewTokenVerifier(
      *settings, static_cast<size_t>(config_.cache_entries),
      static_cast<size_t>(config_.cache_bytes));
  absl::MutexLock lock(&mu_);
  current_ = {std::move(settings), std::move(verifier)};
}

absl::StatusOr<std::unique_ptr<TokenTrust>> TokenTrust::Start(
    const ServerConfig::Tokens& config) {
  std::unique_ptr<TokenTrust> trust(new TokenTrust(config));
  if (config.settings.empty()) return trust;
  if (absl::Status status = trust->Load(); !status.ok()) return status;
  TokenTrust* self = trust.get();
  trust->watcher_ = std::thread([self] {
    const absl::Duration interval =
        absl::Seconds(self->config_.reload_interval_seconds);
    while (!self->stop_.WaitForNotificationWithTimeout(interval)) {
      if (absl::Status status = self->ReloadIfChanged(); !status.ok()) {
        std::fprintf(stderr,
                     "pdp: token settings not reloaded, the previous ones "
                     "stay in force: %s\n",
                     std::string(status.message()).c_str());
      }
    }
  });
  return trust;
}

TokenTrust::~TokenTrust() {
  stop_.Notify();
  if (watcher_.joinable()) watcher_.join();
}

TokenTrust::Current TokenTrust::current() const {
  absl::MutexLock lock(&mu_);
  return current_;
}

std::string TokenTrust::Fingerprint() const {
  std::vector<std::string> files = {config_.settings};
  {
    absl::MutexLock lock(&mu_);
    const auto& read = current_.settings->files_read;
    files.insert(files.end(), read.begin(), read.end());
  }
  std::string fingerprint;
  for (const std::string& file : files) {
    struct stat st {};
    if (stat(file.c_str(), &st) != 0) {
      absl::StrAppend(&fingerprint, file, ":missing;");
      continue;
    }
    absl::StrAppend(&fingerprint, file, ":", st.st_ino, ":", st.st_size, ":",
                    st.st_mtim.tv_sec, ".", st.st_mtim.tv_nsec, ";");
  }
  return fingerprint;
}

absl::Status TokenTrust::Load() {
  absl::StatusOr<token::TokenSettings> loaded =
      token::LoadTokenSettings(config_.settings);
  if (!loaded.ok()) return loaded.status();
  Install(std::make_shared<const token::TokenSettings>(*std::move(loaded)));
  std::string fingerprint = Fingerprint();
  absl::MutexLock lock(&mu_);
  fingerprint_ = std::move(fingerprint);
  return absl::OkStatus();
}

absl::Status TokenTrust::ReloadIfChanged() {
  if (config_.settings.empty()) return absl::OkStatus();
  std::string fingerprint = Fingerprint();
  {
    absl::MutexLock lock(&mu_);
    if (fingerprint == fingerprint_) return absl::OkStatus();
    // A file that fails to load is not retried until it changes again.
    fingerprint_ = fingerprint;
  }
  return Load();
}

}  // namespace pdp::server
