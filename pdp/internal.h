#ifndef PDP_INTERNAL_H_
#define PDP_INTERNAL_H_

// Included first by every header private to the engine (the packages under
// //pdp). Their targets are visible only to //pdp/... (visibility = the
// package group //pdp:engine_packages), and the engine's own targets that include
// them compile with PDP_ENGINE_INTERNALS defined (local_defines, which does
// not propagate), so that a target elsewhere that reaches such a header
// through a transitive dependency fails to build too.
#ifndef PDP_ENGINE_INTERNALS
#error "this header is private to the engine (//pdp/...); use its public headers (docs/architecture.md)"
#endif

#endif  // PDP_INTERNAL_H_
