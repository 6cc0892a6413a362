// Renders k8s/ the way `kubectl kustomize k8s/` does for the features the
// kustomization uses (resources, namespace, labels with selectors), offline, and checks
// that the manifests agree with each other and with the real server's config
// parser: ports, probes, mounts, security context, selectors and identities.

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "pdp/server/config.h"
#include "pdp/token/token_settings.h"
#include "yaml-cpp/yaml.h"

namespace {

constexpr char kDir[] = "k8s/";

// The rendered output: every document of every resource file, with the
// kustomization's namespace and labels applied.
struct Rendered {
  std::vector<YAML::Node> objects;
  std::string namespace_name;
  std::map<std::string, std::string> common_labels;

  std::vector<YAML::Node> OfKind(const std::string& kind) const {
    std::vector<YAML::Node> out;
    for (const YAML::Node& o : objects) {
      if (o["kind"].as<std::string>() == kind) out.push_back(o);
    }
    return out;
  }
  YAML::Node One(const std::string& kind, const std::string& name) const {
    for (const YAML::Node& o : OfKind(kind)) {
      if (o["metadata"]["name"].as<std::string>() == name) return o;
    }
    ADD_FAILURE() << "no " << kind << " named " << name;
    return YAML::Node();
  }
};

// Labels kustomize adds to metadata and, with includeSelectors, selectors.
void AddLabels(YAML::Node map, const std::map<std::string, std::string>& l) {
  for (const auto& [k, v] : l) map[k] = v;
}

Rendered Render() {
  Rendered r;
  YAML::Node k = YAML::LoadFile(absl::StrCat(kDir, "kustomization.yaml"));
  EXPECT_EQ(k["kind"].as<std::string>(), "Kustomization");
  r.namespace_name = k["namespace"].as<std::string>();
  // Only labels that kustomize also adds to selectors (includeSelectors),
  // the one form this renderer supports.
  EXPECT_FALSE(k["commonLabels"]) << "deprecated: use labels";
  for (const YAML::Node& set : k["labels"]) {
    EXPECT_TRUE(set["includeSelectors"] && set["includeSelectors"].as<bool>());
    for (const auto& label : set["pairs"]) {
      r.common_labels[label.first.as<std::string>()] =
          label.second.as<std::string>();
    }
  }
  for (const YAML::Node& resource : k["resources"]) {
    const std::string file = absl::StrCat(kDir, resource.as<std::string>());
    std::vector<YAML::Node> docs;
    try {
      docs = YAML::LoadAllFromFile(file);
    } catch (const YAML::Exception& e) {
      ADD_FAILURE() << file << ": " << e.what();
      continue;
    }
    for (YAML::Node doc : docs) {
      if (doc.IsNull()) continue;
      EXPECT_TRUE(doc["apiVersion"] && doc["kind"] && doc["metadata"]["name"])
          << file << ": a document lacks apiVersion, kind or metadata.name";
      const std::string kind = doc["kind"].as<std::string>();
      if (kind != "Namespace") doc["metadata"]["namespace"] = r.namespace_name;
      AddLabels(doc["metadata"]["labels"], r.common_labels);
      if (kind == "Deployment") {
        AddLabels(doc["spec"]["selector"]["matchLabels"], r.common_labels);
        AddLabels(doc["spec"]["template"]["metadata"]["labels"],
                  r.common_labels);
      } else if (kind == "Service") {
        AddLabels(doc["spec"]["selector"], r.common_labels);
      } else if (kind == "PodDisruptionBudget") {
        AddLabels(doc["spec"]["selector"]["matchLabels"], r.common_labels);
      }
      r.objects.push_back(doc);
    }
  }
  return r;
}

int ListenPort(const pdp::server::ServerConfig& config) {
  std::string port = config.listen.substr(config.listen.rfind(':') + 1);
  int n = 0;
  EXPECT_TRUE(absl::SimpleAtoi(port, &n)) << config.listen;
  return n;
}

// A port that is a number, or a name of one of the container's ports.
int ResolvePort(const YAML::Node& port, const YAML::Node& container) {
  int n = 0;
  if (absl::SimpleAtoi(port.as<std::string>(), &n)) return n;
  for (const YAML::Node& p : container["ports"]) {
    if (p["name"] && p["name"].as<std::string>() == port.as<std::string>()) {
      return p["containerPort"].as<int>();
    }
  }
  ADD_FAILURE() << "no container port named " << port.as<std::string>();
  return -1;
}

bool Matches(const YAML::Node& selector, const YAML::Node& labels) {
  if (!selector || selector.size() == 0) return false;
  for (const auto& kv : selector) {
    const std::string key = kv.first.as<std::string>();
    if (!labels[key] || labels[key].as<std::string>() !=
                            kv.second.as<std::string>()) {
      return false;
    }
  }
  return true;
}

class K8sTest : public ::testing::Test {
 protected:
  void SetUp() override {
    r_ = Render();
    ASSERT_FALSE(HasFailure());
    deployment_ = r_.One("Deployment", "pdp-server");
    ASSERT_TRUE(deployment_);
    pod_ = deployment_["spec"]["template"];
    ASSERT_EQ(pod_["spec"]["containers"].size(), 1u);
    container_ = pod_["spec"]["containers"][0];
    YAML::Node cm = r_.One("ConfigMap", "pdp-server-config");
    ASSERT_TRUE(cm);
    absl::StatusOr<pdp::server::ServerConfig> config =
        pdp::server::ParseServerConfig(
            "k8s/configmap.yaml#config.yaml",
            cm["data"]["config.yaml"].as<std::string>());
    ASSERT_TRUE(config.ok()) << config.status();
    config_ = *config;
  }

  // The volume mounted at the longest mountPath that is a prefix of `path`,
  // and the rest of the path under it.
  bool FindMount(const std::string& path, YAML::Node* volume,
                 std::string* rest, bool* read_only) {
    size_t best = 0;
    for (const YAML::Node& m : container_["volumeMounts"]) {
      std::string mp = m["mountPath"].as<std::string>();
      if (!absl::EndsWith(mp, "/")) mp += "/";
      if (absl::StartsWith(path, mp) && mp.size() > best) {
        best = mp.size();
        *rest = path.substr(mp.size());
        *read_only = m["readOnly"] && m["readOnly"].as<bool>();
        for (const YAML::Node& v : pod_["spec"]["volumes"]) {
          if (v["name"].as<std::string>() == m["name"].as<std::string>()) {
            *volume = v;
          }
        }
      }
    }
    return best > 0 && *volume;
  }

  // A file the server reads: under a mount, and present in what backs it
  // (a ConfigMap key, or a key of a cert-manager Certificate's Secret).
  void ExpectFileProvided(const std::string& what, const std::string& path) {
    SCOPED_TRACE(absl::StrCat(what, " = ", path));
    YAML::Node volume;
    std::string rest;
    bool read_only = false;
    ASSERT_TRUE(FindMount(path, &volume, &rest, &read_only))
        << "not under any volumeMount of the container";
    if (volume["configMap"]) {
      YAML::Node cm =
          r_.One("ConfigMap", volume["configMap"]["name"].as<std::string>());
      EXPECT_TRUE(cm["data"][rest]) << "the ConfigMap has no key " << rest;
    } else if (volume["secret"]) {
      const std::string secret = volume["secret"]["secretName"].as<std::string>();
      bool issued = false;
      for (const YAML::Node& c : r_.OfKind("Certificate")) {
        issued |= c["spec"]["secretName"].as<std::string>() == secret;
      }
      EXPECT_TRUE(issued) << "no Certificate writes the Secret " << secret;
      EXPECT_TRUE(rest == "tls.crt" || rest == "tls.key" || rest == "ca.crt")
          << "cert-manager Secrets hold tls.crt, tls.key and ca.crt, not "
          << rest;
    } else {
      ADD_FAILURE() << "backed by neither a ConfigMap nor a Secret";
    }
  }

  Rendered r_;
  YAML::Node deployment_, pod_, container_;
  pdp::server::ServerConfig config_;
};

TEST_F(K8sTest, EveryResourceRendersIntoTheNamespaceWithCommonLabels) {
  std::set<std::string> kinds;
  for (const YAML::Node& o : r_.objects) {
    kinds.insert(o["kind"].as<std::string>());
    if (o["kind"].as<std::string>() != "Namespace") {
      EXPECT_EQ(o["metadata"]["namespace"].as<std::string>(), "pdp");
    }
  }
  for (const char* kind :
       {"Namespace", "Deployment", "Service", "NetworkPolicy",
        "PodDisruptionBudget", "HorizontalPodAutoscaler", "ConfigMap",
        "Certificate", "Issuer", "ServiceAccount"}) {
    EXPECT_TRUE(kinds.count(kind)) << "no " << kind;
  }
  EXPECT_EQ(r_.One("Namespace", "pdp")["metadata"]["name"].as<std::string>(),
            "pdp");
}

// The config as the server in the pod sees it: its files (which
// EveryPathTheServerReadsIsMounted checks are provided by the mounts) are
// placed under a stand-in root, so the server's own validation can read them.
pdp::server::ServerConfig UnderTestRoot(pdp::server::ServerConfig config) {
  const std::string root = absl::StrCat(getenv("TEST_TMPDIR"), "/podroot");
  auto place = [&](std::string* path) {
    *path = absl::StrCat(root, *path);
    std::string dir = path->substr(0, path->rfind('/'));
    std::string partial;
    for (absl::string_view part : absl::StrSplit(dir, '/', absl::SkipEmpty())) {
      absl::StrAppend(&partial, "/", part);
      mkdir(partial.c_str(), 0755);
    }
    std::ofstream(*path) << "mounted\n";
  };
  place(&config.tls.cert);
  place(&config.tls.key);
  place(&config.tls.client_ca);
  for (auto& key : config.trusted_keys) place(&key.public_key);
  if (!config.tokens.settings.empty()) place(&config.tokens.settings);
  return config;
}

TEST_F(K8sTest, ServerConfigIsValidAndServesMtlsOnEveryInterface) {
  absl::Status valid = pdp::server::ValidateServerConfig(UnderTestRoot(config_));
  EXPECT_TRUE(valid.ok()) << valid;
  EXPECT_FALSE(config_.insecure);
  EXPECT_TRUE(absl::StartsWith(config_.listen, "0.0.0.0:")) << config_.listen;
  EXPECT_FALSE(config_.store.path.empty()) << "pushes need a store";
  EXPECT_FALSE(config_.trusted_keys.empty()) << "pushes need a trusted key";
  EXPECT_EQ(config_.decision_log.path, "-")
      << "the root filesystem is read-only: log to stdout";
}

TEST_F(K8sTest, PortsAndProbesAgreeWithTheListenPort) {
  const int port = ListenPort(config_);
  ASSERT_EQ(container_["ports"].size(), 1u);
  EXPECT_EQ(container_["ports"][0]["containerPort"].as<int>(), port);
  for (const char* probe : {"readinessProbe", "livenessProbe"}) {
    SCOPED_TRACE(probe);
    YAML::Node p = container_[probe];
    ASSERT_TRUE(p);
    if (p["grpc"]) {
      EXPECT_EQ(ResolvePort(p["grpc"]["port"], container_), port);
    } else if (p["tcpSocket"]) {
      EXPECT_EQ(ResolvePort(p["tcpSocket"]["port"], container_), port);
    } else {
      // An exec probe: `pdpctl health --server HOST:PORT ...`.
      ASSERT_TRUE(p["exec"]) << "a probe that reaches no port";
      std::string command;
      for (const YAML::Node& arg : p["exec"]["command"]) {
        command += arg.as<std::string>() + " ";
      }
      EXPECT_NE(command.find(absl::StrCat(":", port, " ")), std::string::npos)
          << command;
    }
  }
  // Liveness must see a server whose listener stopped accepting (gRPC
  // 1.51, CVE-2023-4785): a TLS handshake and a call, not a bare TCP
  // connect, asking for the health service that is SERVING with or without
  // a policy.
  {
    YAML::Node liveness = container_["livenessProbe"];
    EXPECT_FALSE(liveness["tcpSocket"])
        << "a TCP connect passes on a dead listener";
    ASSERT_TRUE(liveness["exec"]);
    std::vector<std::string> args;
    for (const YAML::Node& arg : liveness["exec"]["command"]) {
      args.push_back(arg.as<std::string>());
    }
    ASSERT_GE(args.size(), 2u);
    EXPECT_TRUE(absl::EndsWith(args[0], "pdpctl")) << args[0];
    EXPECT_EQ(args[1], "health");
    auto flag = [&](const std::string& name) -> std::string {
      for (size_t i = 0; i + 1 < args.size(); ++i) {
        if (args[i] == name) return args[i + 1];
      }
      return "";
    };
    EXPECT_EQ(flag("--service"), "liveness");  // kLivenessService (server.h)
    EXPECT_FALSE(flag("--cert").empty()) << "mTLS needs the pod's certificate";
    EXPECT_FALSE(flag("--key").empty());
    EXPECT_FALSE(flag("--ca").empty());
  }
  const YAML::Node labels = pod_["metadata"]["labels"];
  for (const YAML::Node& svc : r_.OfKind("Service")) {
    SCOPED_TRACE(svc["metadata"]["name"].as<std::string>());
    EXPECT_TRUE(Matches(svc["spec"]["selector"], labels));
    ASSERT_EQ(svc["spec"]["ports"].size(), 1u);
    EXPECT_EQ(svc["spec"]["ports"][0]["port"].as<int>(), port);
    EXPECT_EQ(ResolvePort(svc["spec"]["ports"][0]["targetPort"], container_),
              port);
  }
  YAML::Node headless = r_.One("Service", "pdp-headless");
  EXPECT_EQ(headless["spec"]["clusterIP"].as<std::string>(), "None");
  YAML::Node np = r_.One("NetworkPolicy", "pdp-server");
  EXPECT_TRUE(Matches(np["spec"]["podSelector"]["matchLabels"], labels));
  ASSERT_EQ(np["spec"]["ingress"].size(), 1u);
  YAML::Node rule = np["spec"]["ingress"][0];
  ASSERT_EQ(rule["ports"].size(), 1u);
  EXPECT_EQ(rule["ports"][0]["port"].as<int>(), port);
  // Only labelled callers: every `from` peer selects pods by a label.
  ASSERT_GT(rule["from"].size(), 0u);
  for (const YAML::Node& from : rule["from"]) {
    EXPECT_GT(from["podSelector"]["matchLabels"].size(), 0u);
    EXPECT_FALSE(from["ipBlock"]);
  }
}

TEST_F(K8sTest, EveryPathTheServerReadsIsMounted) {
  ExpectFileProvided("tls.cert", config_.tls.cert);
  ExpectFileProvided("tls.key", config_.tls.key);
  ExpectFileProvided("tls.client_ca", config_.tls.client_ca);
  for (const auto& key : config_.trusted_keys) {
    ExpectFileProvided("trusted_keys.public_key", key.public_key);
  }
  if (!config_.tokens.settings.empty()) {
    ExpectFileProvided("tokens.settings", config_.tokens.settings);
  }
  YAML::Node args = container_["args"];
  ASSERT_EQ(args.size(), 2u);
  EXPECT_EQ(args[0].as<std::string>(), "--config");
  ExpectFileProvided("--config", args[1].as<std::string>());
  EXPECT_TRUE(config_.policy.empty() ||
              absl::StartsWith(config_.policy, "/etc/pdp/"));

  YAML::Node volume;
  std::string rest;
  bool read_only = true;
  ASSERT_TRUE(FindMount(config_.store.path + "/", &volume, &rest, &read_only))
      << "store.path " << config_.store.path << " is not under a volumeMount";
  EXPECT_FALSE(read_only) << "the store must be writable";
  EXPECT_TRUE(volume["emptyDir"] || volume["persistentVolumeClaim"]);
}

TEST_F(K8sTest, PodIsLockedDown) {
  YAML::Node pod_sc = pod_["spec"]["securityContext"];
  YAML::Node sc = container_["securityContext"];
  EXPECT_TRUE(pod_sc["runAsNonRoot"].as<bool>());
  EXPECT_GT(pod_sc["runAsUser"].as<int>(), 0);
  EXPECT_TRUE(sc["runAsNonRoot"].as<bool>());
  EXPECT_TRUE(sc["readOnlyRootFilesystem"].as<bool>());
  EXPECT_FALSE(sc["allowPrivilegeEscalation"].as<bool>());
  ASSERT_EQ(sc["capabilities"]["drop"].size(), 1u);
  EXPECT_EQ(sc["capabilities"]["drop"][0].as<std::string>(), "ALL");
  EXPECT_FALSE(sc["capabilities"]["add"]);
  for (const char* kind : {"requests", "limits"}) {
    for (const char* resource : {"cpu", "memory"}) {
      EXPECT_TRUE(container_["resources"][kind][resource])
          << "resources." << kind << "." << resource;
    }
  }
}

// Kubernetes sends SIGTERM, then SIGKILL after terminationGracePeriodSeconds.
// The server's lame duck and drain must both fit, with time left to write
// the decision log out and exit.
TEST_F(K8sTest, TerminationGracePeriodCoversLameDuckAndDrain) {
  pdp::server::ServerConfig config = config_;
  const YAML::Node args = container_["args"];
  for (size_t i = 0; i + 1 < args.size(); i += 2) {
    const std::string flag = args[i].as<std::string>();
    ASSERT_TRUE(absl::StartsWith(flag, "--")) << flag;
    if (flag == "--config") continue;
    ASSERT_TRUE(pdp::server::ApplyFlag(flag.substr(2),
                                       args[i + 1].as<std::string>(), &config)
                    .ok())
        << flag;
  }
  EXPECT_GT(config.shutdown.lame_duck_seconds, 0)
      << "without a lame duck, calls routed to a terminating pod before its "
         "endpoint is removed are refused";
  constexpr int kExitMarginSeconds = 5;
  ASSERT_TRUE(pod_["spec"]["terminationGracePeriodSeconds"]);
  EXPECT_GE(pod_["spec"]["terminationGracePeriodSeconds"].as<int>(),
            config.shutdown.lame_duck_seconds + config.shutdown.grace_seconds +
                kExitMarginSeconds)
      << "lame duck " << config.shutdown.lame_duck_seconds << " s + drain "
      << config.shutdown.grace_seconds << " s + " << kExitMarginSeconds
      << " s to exit";
}

TEST_F(K8sTest, ReplicasSpreadAndStayAvailable) {
  const int replicas = deployment_["spec"]["replicas"].as<int>();
  EXPECT_GE(replicas, 3);
  const YAML::Node labels = pod_["metadata"]["labels"];
  EXPECT_TRUE(
      Matches(deployment_["spec"]["selector"]["matchLabels"], labels));
  YAML::Node anti = pod_["spec"]["affinity"]["podAntiAffinity"]
                        ["requiredDuringSchedulingIgnoredDuringExecution"];
  ASSERT_GT(anti.size(), 0u);
  EXPECT_EQ(anti[0]["topologyKey"].as<std::string>(), "kubernetes.io/hostname");
  EXPECT_TRUE(Matches(anti[0]["labelSelector"]["matchLabels"], labels));

  YAML::Node pdb = r_.One("PodDisruptionBudget", "pdp-server");
  EXPECT_TRUE(Matches(pdb["spec"]["selector"]["matchLabels"], labels));
  EXPECT_LT(pdb["spec"]["minAvailable"].as<int>(), replicas);
  EXPECT_GE(pdb["spec"]["minAvailable"].as<int>(), 1);

  YAML::Node hpa = r_.One("HorizontalPodAutoscaler", "pdp-server");
  EXPECT_EQ(hpa["spec"]["scaleTargetRef"]["kind"].as<std::string>(),
            "Deployment");
  EXPECT_EQ(hpa["spec"]["scaleTargetRef"]["name"].as<std::string>(),
            "pdp-server");
  EXPECT_EQ(hpa["spec"]["minReplicas"].as<int>(), replicas);
  EXPECT_GT(hpa["spec"]["maxReplicas"].as<int>(), replicas);
}

TEST_F(K8sTest, EveryConfiguredCallerHasACertificateWithItsSpiffeId) {
  std::set<std::string> uris;
  for (const YAML::Node& c : r_.OfKind("Certificate")) {
    for (const YAML::Node& uri : c["spec"]["uris"]) {
      uris.insert(uri.as<std::string>());
    }
    if (c["spec"]["isCA"] && c["spec"]["isCA"].as<bool>()) continue;
    const std::string issuer = c["spec"]["issuerRef"]["name"].as<std::string>();
    EXPECT_EQ(issuer, "pdp-ca-issuer")
        << c["metadata"]["name"].as<std::string>()
        << ": callers and server must share the CA the server trusts";
  }
  for (const auto& grant : config_.callers) {
    EXPECT_TRUE(uris.count(grant.identity))
        << "no Certificate for caller " << grant.identity;
  }
  YAML::Node server = r_.One("Certificate", "pdp-server");
  bool server_auth = false;
  for (const YAML::Node& u : server["spec"]["usages"]) {
    server_auth |= u.as<std::string>() == "server auth";
  }
  EXPECT_TRUE(server_auth);
}

// DESIGN §5: CI pushes policy but cannot read decisions; no caller the
// manifests configure may explain (it returns full decisions) unless it is
// granted `explain` on its own, never through `admin`.
TEST_F(K8sTest, CiMayPushButNotReadDecisions) {
  const pdp::server::CallerGrant* ci = nullptr;
  for (const auto& g : config_.callers) {
    if (g.identity == "spiffe://acme.example/ci") ci = &g;
  }
  ASSERT_NE(ci, nullptr) << "no grant for CI";
  bool admin = false, explain = false;
  for (pdp::server::Permission p : ci->permissions) {
    admin |= p == pdp::server::Permission::kAdmin;
    explain |= p == pdp::server::Permission::kExplain;
  }
  EXPECT_TRUE(admin) << "CI pushes bundles";
  EXPECT_FALSE(explain) << "CI must not read decisions";
}

// A new pod's empty store is filled from its peers (bootstrap_peers): the
// peers are the headless Service (including pods not ready yet) at the listen
// port; the server's certificate can act as a client, names the peer host
// (TLS verifies it) and its identity may read bundles, and the NetworkPolicy
// lets replicas reach each other.
TEST_F(K8sTest, ReplicasBootstrapFromEachOtherThroughTheHeadlessService) {
  ASSERT_FALSE(config_.bootstrap_peers.empty());
  YAML::Node headless = r_.One("Service", "pdp-headless");
  EXPECT_EQ(headless["spec"]["clusterIP"].as<std::string>(), "None");
  EXPECT_TRUE(headless["spec"]["publishNotReadyAddresses"].as<bool>());
  const std::string service_host =
      absl::StrCat(headless["metadata"]["name"].as<std::string>(), ".",
                   r_.namespace_name, ".svc");
  YAML::Node cert = r_.One("Certificate", "pdp-server");
  std::set<std::string> dns_names;
  for (const YAML::Node& n : cert["spec"]["dnsNames"]) {
    dns_names.insert(n.as<std::string>());
  }
  for (const std::string& peer : config_.bootstrap_peers) {
    SCOPED_TRACE(peer);
    const size_t colon = peer.rfind(':');
    ASSERT_NE(colon, std::string::npos);
    const std::string host = peer.substr(0, colon);
    EXPECT_TRUE(host == service_host ||
                host == absl::StrCat(service_host, ".cluster.local"));
    EXPECT_EQ(peer.substr(colon + 1),
              absl::StrCat(ListenPort(config_)));
    EXPECT_TRUE(dns_names.count(host)) << "the server certificate lacks it";
  }

  std::set<std::string> usages;
  for (const YAML::Node& u : cert["spec"]["usages"]) {
    usages.insert(u.as<std::string>());
  }
  EXPECT_TRUE(usages.count("client auth"))
      << "replicas present their own certificate to each other";
  ASSERT_EQ(cert["spec"]["uris"].size(), 1u);
  const std::string identity = cert["spec"]["uris"][0].as<std::string>();
  const pdp::server::CallerGrant* grant = nullptr;
  for (const auto& g : config_.callers) {
    if (g.identity == identity) {
      grant = &g;
      break;
    }
  }
  ASSERT_NE(grant, nullptr) << identity << " is not in callers";
  bool may_read = false;
  for (pdp::server::Permission p : grant->permissions) {
    may_read |= p == pdp::server::Permission::kReadBundles ||
                p == pdp::server::Permission::kAdmin;
  }
  EXPECT_TRUE(may_read) << identity << " may not read bundles";

  YAML::Node np = r_.One("NetworkPolicy", "pdp-server");
  bool replicas_admitted = false;
  for (const YAML::Node& from : np["spec"]["ingress"][0]["from"]) {
    replicas_admitted |= !from["namespaceSelector"] &&
                         Matches(from["podSelector"]["matchLabels"],
                                 pod_["metadata"]["labels"]);
  }
  EXPECT_TRUE(replicas_admitted) << "replicas cannot reach each other";
}

// The same manifests rendered by `kubectl kustomize`, when kubectl is
// installed (tools/setup.sh does not install it): the offline render above
// must agree with it on every object's identity, labels and selectors.
TEST(KubectlKustomizeTest, OfflineRenderMatchesKubectl) {
  if (access("/usr/bin/kubectl", X_OK) != 0) {
    GTEST_SKIP() << "no /usr/bin/kubectl";
  }
  // kustomize does not follow the runfiles' symlinks: render a copy.
  const std::string dir = absl::StrCat(getenv("TEST_TMPDIR"), "/k8s");
  mkdir(dir.c_str(), 0755);
  std::vector<std::string> files = {"kustomization.yaml"};
  for (const YAML::Node& r :
       YAML::LoadFile("k8s/kustomization.yaml")["resources"]) {
    files.push_back(r.as<std::string>());
  }
  for (const std::string& f : files) {
    std::ifstream in(absl::StrCat("k8s/", f));
    std::ofstream(absl::StrCat(dir, "/", f)) << in.rdbuf();
  }
  FILE* pipe = popen(
      absl::StrCat("/usr/bin/kubectl kustomize ", dir, " 2>&1").c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string text;
  char buffer[4096];
  while (size_t n = fread(buffer, 1, sizeof(buffer), pipe)) text.append(buffer, n);
  ASSERT_EQ(pclose(pipe), 0) << text;
  std::vector<YAML::Node> theirs = YAML::LoadAll(text);

  auto id = [](const YAML::Node& o) {
    return absl::StrCat(o["kind"].as<std::string>(), "/",
                        o["metadata"]["namespace"]
                            ? o["metadata"]["namespace"].as<std::string>()
                            : "",
                        "/", o["metadata"]["name"].as<std::string>());
  };
  auto labels = [](const YAML::Node& map) {
    std::map<std::string, std::string> out;
    if (map) {
      for (const auto& kv : map) {
        out[kv.first.as<std::string>()] = kv.second.as<std::string>();
      }
    }
    return out;
  };
  auto selector = [&](const YAML::Node& o) {
    const std::string kind = o["kind"].as<std::string>();
    if (kind == "Service") return labels(o["spec"]["selector"]);
    if (kind == "Deployment" || kind == "PodDisruptionBudget") {
      return labels(o["spec"]["selector"]["matchLabels"]);
    }
    return std::map<std::string, std::string>();
  };
  std::map<std::string, YAML::Node> ours;
  for (const YAML::Node& o : Render().objects) ours[id(o)] = o;
  std::set<std::string> seen;
  for (const YAML::Node& o : theirs) {
    const std::string name = id(o);
    seen.insert(name);
    ASSERT_TRUE(ours.count(name)) << "only kubectl renders " << name;
    EXPECT_EQ(labels(o["metadata"]["labels"]),
              labels(ours[name]["metadata"]["labels"]))
        << name;
    EXPECT_EQ(selector(o), selector(ours[name])) << name;
    if (o["kind"].as<std::string>() == "Deployment") {
      EXPECT_EQ(labels(o["spec"]["template"]["metadata"]["labels"]),
                labels(ours[name]["spec"]["template"]["metadata"]["labels"]));
    }
  }
  EXPECT_EQ(seen.size(), ours.size()) << "kubectl renders fewer objects";
}

// The token settings the server reads at start load as it would load them:
// every file of the ConfigMap mounted where tokens.settings points is
// written out, and the settings file names only files of that ConfigMap.
TEST_F(K8sTest, TokenSettingsLoadFromTheirConfigMap) {
  ASSERT_FALSE(config_.tokens.settings.empty());
  YAML::Node volume;
  std::string rest;
  bool read_only = false;
  ASSERT_TRUE(FindMount(config_.tokens.settings, &volume, &rest, &read_only));
  EXPECT_TRUE(read_only);
  ASSERT_TRUE(volume["configMap"]);
  YAML::Node cm =
      r_.One("ConfigMap", volume["configMap"]["name"].as<std::string>());
  const std::string dir = absl::StrCat(getenv("TEST_TMPDIR"), "/tokens");
  mkdir(dir.c_str(), 0755);
  for (const auto& entry : cm["data"]) {
    std::ofstream(absl::StrCat(dir, "/", entry.first.as<std::string>()))
        << entry.second.as<std::string>();
  }
  absl::StatusOr<pdp::token::TokenSettings> settings =
      pdp::token::LoadTokenSettings(absl::StrCat(dir, "/", rest));
  ASSERT_TRUE(settings.ok()) << settings.status();
  EXPECT_FALSE(settings->issuers.empty());
}

}  // namespace
