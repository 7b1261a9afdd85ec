#!/usr/bin/env node
/**
 * Regenerates lib/otlp/gen from the official OTLP .proto files.
 *
 *   node scripts/otlp/generate.mjs
 *
 * 1. Maven fetches io.opentelemetry.proto:opentelemetry-proto and google/rpc/status.proto
 *    (versions in scripts/otlp/pom.xml) and unpacks the .proto files into scripts/otlp/target/proto.
 * 2. buf compiles the trace service, google.rpc.Status (OTLP/HTTP's error body) and their
 *    imports; protoc-gen-es writes TypeScript.
 * The generated files are committed, so neither Maven nor buf is needed to build or run.
 */
import { execFileSync } from "node:child_process";
import { existsSync, rmSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "..", "..");
const protoDir = path.join(here, "target", "proto");

const wanted = ["opentelemetry/proto/collector/trace/v1/trace_service.proto", "google/rpc/status.proto"];
if (!wanted.every((f) => existsSync(path.join(protoDir, f)))) {
  execFileSync("mvn", ["-q", "-B", "generate-sources"], { cwd: here, stdio: "inherit" });
}
rmSync(path.join(root, "lib/otlp/gen"), { recursive: true, force: true });
execFileSync(
  path.join(root, "node_modules/.bin/buf"),
  [
    "generate",
    protoDir,
    "--template", path.join(here, "buf.gen.yaml"),
    ...wanted.flatMap((f) => ["--path", path.join(protoDir, f)]),
    "--include-imports",
  ],
  { cwd: root, stdio: "inherit" },
);
console.log("lib/otlp/gen regenerated");
