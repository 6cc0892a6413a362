#include "pdp/server/bundle_manager.h"

#include "absl/strings/match.h"
#include "absl/strings/strip.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "pdp/compiler.h"

namespace pdp::server {
namespace {

absl::Status Step(absl::string_view step, const absl::Status& status) {
  return absl::Status(status.code(),
                      absl::StrCat(step, ": ", status.message()));
}

int64_t NowMicros() { return absl::ToUnixMicros(absl::Now()); }

}  // namespace

absl::StatusOr<std::pair<v1::Bundle, std::shared_ptr<const Snapshot>>>
BundleManager::Open(const v1::SignedBundle& signed_bundle) const {
  absl::StatusOr<v1::Bundle> bundle = keys_.Open(signed_bundle);
  if (!bundle.ok()) {
    return Step(bundle.status().code() == absl::StatusCode::kInvalidArgument
                    ? "parse"
                    : "verify",
                bundle.status());
  }
  if (bundle->metadata().version() == 0) {
    return absl::InvalidArgumentError(
        "version: a pushed bundle needs a version of 1 or more");
  }
  absl::StatusOr<std::shared_ptr<const Snapshot>> snapshot =
      Compiler::Compile(*bundle);
  if (!snapshot.ok()) return Step("compile", snapshot.status());
  return std::make_pair(*std::move(bundle), *std::move(snapshot));
}

absl::StatusOr<v1::BundleInfo> BundleManager::InfoOf(uint64_t version) const {
  absl::StatusOr<std::vector<v1::BundleInfo>> infos = store_.ListBundles();
  if (!infos.ok()) return Step("store", infos.status());
  for (v1::BundleInfo& info : *infos) {
    if (info.metadata().version() == version) return std::move(info);
  }
  return v1::BundleInfo();  // Stored without its info: nothing to report.
}

absl::StatusOr<std::shared_ptr<const Snapshot>> BundleManager::LoadActive() {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<std::optional<cache::Store::ActiveBundle>> active =
      store_.GetActive();
  if (!active.ok()) return Step("store", active.status());
  if (!active->has_value()) return nullptr;
  const uint64_t version = (*active)->version;
  const std::string what =
      absl::StrCat("the stored active bundle v", version);
  absl::StatusOr<v1::SignedBundle> stored = store_.GetBundle(version);
  if (!stored.ok()) {
    return absl::Status(
        stored.status().code(),
        absl::StrCat(what, " cannot be read: ", stored.status().message()));
  }
  auto opened = Open(*stored);
  if (!opened.ok()) {
    absl::string_view message = opened.status().message();
    std::string sentence = absl::StrCat(what, " cannot be served: ", message);
    for (absl::string_view step : {"verify", "parse", "compile"}) {
      if (absl::ConsumePrefix(&message, absl::StrCat(step, ": "))) {
        sentence = absl::StrCat(what, " does not ", step, ": ", message);
        break;
      }
    }
    return absl::Status(opened.status().code(), sentence);
  }
  return opened->second;
}

absl::StatusOr<BundleManager::Active> BundleManager::Push(
    const v1::SignedBundle& signed_bundle) {
  absl::MutexLock lock(&mu_);
  auto opened = Open(signed_bundle);
  if (!opened.ok()) return opened.status();
  const uint64_t version = opened->first.metadata().version();

  absl::StatusOr<std::optional<cache::Store::ActiveBundle>> active =
      store_.GetActive();
  if (!active.ok()) return Step("store", active.status());
  const uint64_t active_version =
      active->has_value() ? (*active)->version : 0;
  if (active->has_value() && version <= active_version) {
    absl::StatusOr<v1::SignedBundle> stored = store_.GetBundle(version);
    if (!stored.ok() && stored.status().code() != absl::StatusCode::kNotFound) {
      return Step("store", stored.status());
    }
    const bool same_bytes = stored.ok() &&
                            stored->bundle() == signed_bundle.bundle() &&
                            stored->signature() == signed_bundle.signature();
    if (same_bytes && version == active_version) {
      // A retry of the push that made this version active (its answer was
      // lost): the same result again, nothing written.
      absl::StatusOr<v1::BundleInfo> info = InfoOf(version);
      if (!info.ok()) return info.status();
      Active result;
      result.info = *std::move(info);
      result.activated_unix_micros = (*active)->activated_unix_micros;
      result.already_active = true;
      activate_(std::move(opened->second));
      return result;
    }
    if (same_bytes) {
      return absl::FailedPreconditionError(absl::StrCat(
          "version: bundle version ", version,
          " is already stored but not active (the active version is ",
          active_version,
          "); a push never activates an older version: use Activate to "
          "roll back to it"));
    }
    return absl::FailedPreconditionError(absl::StrCat(
        "version: bundle version ", version,
        " is not greater than the active version ", active_version,
        stored.ok() ? " (and a different bundle is stored as that version)"
                    : "",
        "; use Activate to roll back to a stored version"));
  }
  if (absl::StatusOr<v1::SignedBundle> stored = store_.GetBundle(version);
      stored.ok()) {
    // Stored, above the active version: an operator rolled back from it.
    const bool same_bytes = stored->bundle() == signed_bundle.bundle() &&
                            stored->signature() == signed_bundle.signature();
    return absl::AlreadyExistsError(absl::StrCat(
        "version: bundle version ", version, " is already stored",
        same_bytes ? " with these same bytes" : " as a different bundle",
        " and was rolled back from (the active version is ", active_version,
        "); a push does not undo a rollback: use Activate to make it active "
        "again"));
  } else if (stored.status().code() != absl::StatusCode::kNotFound) {
    return Step("store", stored.status());
  }
  Active result;
  *result.info.mutable_metadata() = opened->first.metadata();
  result.info.set_key_id(signed_bundle.key_id());
  result.info.set_stored_unix_micros(NowMicros());
  result.info.set_size_bytes(signed_bundle.bundle().size());
  result.activated_unix_micros = result.info.stored_unix_micros();
  if (absl::Status s = store_.PutBundleAndActivate(
          result.info, signed_bundle, result.activated_unix_micros);
      !s.ok()) {
    // AlreadyExists: the version is stored (and was rolled back from).
    return Step(s.code() == absl::StatusCode::kAlreadyExists ? "version" : "store", s);
  }
  activate_(std::move(opened->second));
  return result;
}

absl::StatusOr<BundleManager::Active> BundleManager::Activate(
    uint64_t version) {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<v1::SignedBundle> stored = store_.GetBundle(version);
  if (!stored.ok()) return stored.status();
  auto opened = Open(*stored);
  if (!opened.ok()) return opened.status();
  Active result;
  absl::StatusOr<v1::BundleInfo> info = InfoOf(version);
  if (!info.ok()) return info.status();
  result.info = *std::move(info);
  result.activated_unix_micros = NowMicros();
  if (absl::Status s = store_.Activate(version, result.activated_unix_micros,
                                       /*rollback=*/true);
      !s.ok()) {
    return Step("store", s);
  }
  activate_(std::move(opened->second));
  return result;
}

absl::StatusOr<std::optional<BundleManager::Active>> BundleManager::GetActive()
    const {
  absl::StatusOr<std::optional<cache::Store::ActiveBundle>> active =
      store_.GetActive();
  if (!active.ok()) return Step("store", active.status());
  if (!active->has_value()) return std::nullopt;
  Active result;
  absl::StatusOr<v1::BundleInfo> info = InfoOf((*active)->version);
  if (!info.ok()) return info.status();
  result.info = *std::move(info);
  result.activated_unix_micros = (*active)->activated_unix_micros;
  return result;
}

}  // namespace pdp::server
