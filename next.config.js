/** @type {import('next').NextConfig} */
const nextConfig = {
  // Native or Node-only packages stay outside the bundles: chdb is a node addon that
  // cannot be placed in ESM chunks (TOOLCHAIN.md), kafkajs and pino load lazily.
  serverExternalPackages: ["chdb", "kafkajs", "pino", "@clickhouse/client", "@node-rs/argon2"],
  outputFileTracingIncludes: { "/*": ["./node_modules/@chdb/lib-linux-x64-gnu/libchdb.so", "./lib/store/migrations/*.sql"] },
  poweredByHeader: false,
  reactStrictMode: true,
  // Dev and test servers use their own build directory so that they never clobber `next build`.
  distDir: process.env.NEXT_DIST_DIR || ".next",
};

export default nextConfig;
