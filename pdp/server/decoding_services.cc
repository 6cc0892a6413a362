#include "pdp/server/decoding_services.h"

#include <atomic>
#include <functional>
#include <iostream>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "pdp/server/request_decoder.h"
#include "pdp/server/serve_unary.h"
#include "pdp/server/status.h"
#include "pdp/server/bounds.h"
#include "pdp/v1/admin.grpc.pb.h"
#include "pdp/v1/authorizer.grpc.pb.h"
#include "pdp/v1/directory.grpc.pb.h"

namespace pdp::server {

struct DecodingServices::Shared {
  const ServerConfig::Limits limits;
  std::atomic<uint64_t> undecodable{0};
  std::atomic<bool> logged{false};

  // Decodes and bounds the request; when that fails, finishes the call.
  // Otherwise runs `typed(context, &request, &response)` and encodes the
  // response into `out`. `bounds` is CheckBounds for the request's type, or
  // null for requests that carry no ids.
  template <typename Request, typename Response, typename Typed>
  grpc::ServerUnaryReactor* Serve(
      grpc::CallbackServerContext* context, const grpc::ByteBuffer* in,
      grpc::ByteBuffer* out, Typed typed,
      absl::Status (*bounds)(const Request&, const ServerConfig::Limits&)) {
    Request request;
    absl::Status status = DecodeRequest(*in, &request);
    if (!status.ok()) {
      undecodable.fetch_add(1, std::memory_order_relaxed);
      if (!logged.exchange(true)) {
        std::cerr << "pdp-server: answered a request whose body could not be "
                     "decoded with INVALID_ARGUMENT ("
                  << status.message().substr(0, 200)
                  << "); such requests are counted in PolicyAdmin.GetStatus "
                     "undecodable_requests, not logged again\n";
      }
    } else if (bounds != nullptr) {
      status = bounds(request, limits);
    }
    if (!status.ok()) {
      grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
      reactor->Finish(ToGrpcStatus(status));
      return reactor;
    }
    Response response;
    const std::function<void()> encode = [&] { Encode(response, out); };
    internal::response_encoder = &encode;
    grpc::ServerUnaryReactor* reactor = typed(context, &request, &response);
    internal::response_encoder = nullptr;
    return reactor;
  }

  static void Encode(const google::protobuf::Message& response,
                     grpc::ByteBuffer* out) {
    grpc::Slice slice(response.SerializeAsString());
    *out = grpc::ByteBuffer(&slice, 1);
  }
};

namespace {

using Shared = DecodingServices::Shared;

class RawAuthorizer final
    : public v1::Authorizer::WithRawCallbackMethod_Check<
          v1::Authorizer::WithRawCallbackMethod_BatchCheck<
              v1::Authorizer::WithRawCallbackMethod_FilterTools<
                  v1::Authorizer::WithRawCallbackMethod_CheckClientRequest<
                      v1::Authorizer::Service>>>> {
 public:
  RawAuthorizer(AuthorizerService& typed, Shared& shared)
      : typed_(typed), shared_(shared) {}

  grpc::ServerUnaryReactor* Check(grpc::CallbackServerContext* context,
                                  const grpc::ByteBuffer* in,
                                  grpc::ByteBuffer* out) override {
    return shared_.Serve<v1::CheckRequest, v1::CheckResponse>(
        context, in, out,
        [this](auto* c, auto* req, auto* resp) {
          return typed_.Check(c, req, resp);
        },
        &CheckBounds);
  }
  grpc::ServerUnaryReactor* BatchCheck(grpc::CallbackServerContext* context,
                                       const grpc::ByteBuffer* in,
                                       grpc::ByteBuffer* out) override {
    return shared_.Serve<v1::BatchCheckRequest, v1::BatchCheckResponse>(
        context, in, out,
        [this](auto* c, auto* req, auto* resp) {
          return typed_.BatchCheck(c, req, resp);
        },
        &CheckBounds);
  }
  grpc::ServerUnaryReactor* FilterTools(grpc::CallbackServerContext* context,
                                        const grpc::ByteBuffer* in,
                                        grpc::ByteBuffer* out) override {
    return shared_.Serve<v1::FilterToolsRequest, v1::FilterToolsResponse>(
        context, in, out,
        [this](auto* c, auto* req, auto* resp) {
          return typed_.FilterTools(c, req, resp);
        },
        &CheckBounds);
  }
  grpc::ServerUnaryReactor* CheckClientRequest(
      grpc::CallbackServerContext* context, const grpc::ByteBuffer* in,
      grpc::ByteBuffer* out) override {
    return shared_.Serve<v1::CheckClientRequestRequest,
                         v1::CheckClientRequestResponse>(
        context, in, out,
        [this](auto* c, auto* req, auto* resp) {
          return typed_.CheckClientRequest(c, req, resp);
        },
        &CheckBounds);
  }

 private:
  AuthorizerService& typed_;
  Shared& shared_;
};

class RawPolicyAdmin final
    : public v1::PolicyAdmin::WithRawCallbackMethod_PushBundle<
          v1::PolicyAdmin::WithRawCallbackMethod_GetStatus<
              v1::PolicyAdmin::WithRawCallbackMethod_ListBundles<
                  v1::PolicyAdmin::WithRawCallbackMethod_Activate<
                      v1::PolicyAdmin::WithRawCallbackMethod_Explain<
                          v1::PolicyAdmin::WithRawCallbackMethod_GetBundle<
                              v1::PolicyAdmin::Service>>>>>> {
 public:
  RawPolicyAdmin(PolicyAdminService& typed, Shared& shared)
      : typed_(typed), shared_(shared) {}

  grpc::ServerUnaryReactor* PushBundle(grpc::CallbackServerContext* context,
                                       const grpc::ByteBuffer* in,
                                       grpc::ByteBuffer* out) override {
    return shared_.Serve<v1::PushBundleRequest, v1::PushBundleResponse>(
        context, in, out,
        [this](auto* c, auto* req, auto* resp) {
          return typed_.PushBundle(c, req, resp);
        },
        nullptr);
  }
  grpc::ServerUnaryReactor* GetStatus(grpc::CallbackServerContext* context,
                                      const grpc::ByteBuffer* in,
                                      grpc::ByteBuffer* out) override {
    return shared_.Serve<v1::GetStatusRequest, v1::GetStatusResponse>(
        context, in, out,
        [this](auto* c, auto* req, auto* resp) {
          // The counter lives here, with the decoding it counts.
          resp->set_undecodable_requests(
              shared_.undecodable.load(std::memory_order_relaxed));
          return typed_.GetStatus(c, req, resp);
        },
        nullptr);
  }
  grpc::ServerUnaryReactor* ListBundles(grpc::CallbackServerContext* context,
                                        const grpc::ByteBuffer* in,
                                        grpc::ByteBuffer* out) override {
    return shared_.Serve<v1::ListBundlesRequest, v1::ListBundlesResponse>(
        context, in, out,
        [this](auto* c, auto* req, auto* resp) {
          return typed_.ListBundles(c, req, resp);
        },
        nullptr);
  }
  grpc::ServerUnaryReactor* Activate(grpc::CallbackServerContext* context,
                                     const grpc::ByteBuffer* in,
                                     grpc::ByteBuffer* out) override {
    return shared_.Serve<v1::ActivateRequest, v1::ActivateResponse>(
        context, in, out,
        [this](auto* c, auto* req, auto* resp) {
          return typed_.Activate(c, req, resp);
        },
        nullptr);
  }
  grpc::ServerUnaryReactor* Explain(grpc::CallbackServerContext* context,
                                    const grpc::ByteBuffer* in,
                                    grpc::ByteBuffer* out) override {
    return shared_.Serve<v1::ExplainRequest, v1::ExplainResponse>(
        context, in, out,
        [this](auto* c, auto* req, auto* resp) {
          return typed_.Explain(c, req, resp);
        },
        &CheckBounds);
  }
  grpc::ServerUnaryReactor* GetBundle(grpc::CallbackServerContext* context,
                                      const grpc::ByteBuffer* in,
                                      grpc::ByteBuffer* out) override {
    return shared_.Serve<v1::GetBundleRequest, v1::SignedBundle>(
        context, in, out,
        [this](auto* c, auto* req, auto* resp) {
          return typed_.GetBundle(c, req, resp);
        },
        nullptr);
  }

 private:
  PolicyAdminService& typed_;
  Shared& shared_;
};

class RawDirectory final
    : public v1::Directory::WithRawCallbackMethod_UpsertUsers<
          v1::Directory::WithRawCallbackMethod_DeleteUsers<
              v1::Directory::WithRawCallbackMethod_GetUser<
                  v1::Directory::Service>>> {
 public:
  RawDirectory(DirectoryService& typed, Shared& shared)
      : typed_(typed), shared_(shared) {}

  grpc::ServerUnaryReactor* UpsertUsers(grpc::CallbackServerContext* context,
                                        const grpc::ByteBuffer* in,
                                        grpc::ByteBuffer* out) override {
    return shared_.Serve<v1::UpsertUsersRequest, v1::UpsertUsersResponse>(
        context, in, out,
        [this](auto* c, auto* req, auto* resp) {
          return typed_.UpsertUsers(c, req, resp);
        },
        &CheckBounds);
  }
  grpc::ServerUnaryReactor* DeleteUsers(grpc::CallbackServerContext* context,
                                        const grpc::ByteBuffer* in,
                                        grpc::ByteBuffer* out) override {
    return shared_.Serve<v1::DeleteUsersRequest, v1::DeleteUsersResponse>(
        context, in, out,
        [this](auto* c, auto* req, auto* resp) {
          return typed_.DeleteUsers(c, req, resp);
        },
        &CheckBounds);
  }
  grpc::ServerUnaryReactor* GetUser(grpc::CallbackServerContext* context,
                                    const grpc::ByteBuffer* in,
                                    grpc::ByteBuffer* out) override {
    return shared_.Serve<v1::GetUserRequest, v1::User>(
        context, in, out,
        [this](auto* c, auto* req, auto* resp) {
          return typed_.GetUser(c, req, resp);
        },
        &CheckBounds);
  }

 private:
  DirectoryService& typed_;
  Shared& shared_;
};

}  // namespace

DecodingServices::DecodingServices(AuthorizerService& authorizer,
                                   PolicyAdminService* admin,
                                   DirectoryService* directory,
                                   const ServerConfig::Limits& limits)
    : shared_(new Shared{limits}) {
  services_.push_back(std::make_unique<RawAuthorizer>(authorizer, *shared_));
  if (admin != nullptr) {
    services_.push_back(std::make_unique<RawPolicyAdmin>(*admin, *shared_));
  }
  if (directory != nullptr) {
    services_.push_back(std::make_unique<RawDirectory>(*directory, *shared_));
  }
}

DecodingServices::~DecodingServices() = default;

uint64_t DecodingServices::undecodable() const {
  return shared_->undecodable.load(std::memory_order_relaxed);
}

std::vector<grpc::Service*> DecodingServices::services() const {
  std::vector<grpc::Service*> out;
  for (const auto& service : services_) out.push_back(service.get());
  return out;
}

}  // namespace pdp::server
