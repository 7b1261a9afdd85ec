/** @type {import('next').NextConfig} */
const nextConfig = {
  // Native or Node-only packages stay outside the bundles: chdb is a node addon that
  // cannot be placed in ESM chunks (next build fails without this), kafkajs and pino load lazily.
  serverExternalPackages: ["chdb", "kafkajs", "pino", "@clickhouse/client", "@node-rs/argon2"],
  outputFileTracingIncludes: { "/*": ["./node_modules/@chdb/lib-linux-x64-gnu/libchdb.so", "./lib/store/migrations/*.sql"] },
  poweredByHeader: false,
  reactStrictMode: true,
  // Dev and test servers use their own build directory so that they never clobber `next build`.
  distDir: process.env.NEXT_DIST_DIR || ".next",
  // Static security headers for every response. The page Content-Security-Policy needs a
  // per-request nonce, so proxy.ts sets it; API responses are JSON and get a deny-all policy.
  async headers() {
    const common = [
      { key: "X-Content-Type-Options", value: "nosniff" },
      { key: "X-Frame-Options", value: "DENY" },
      { key: "Referrer-Policy", value: "no-referrer" },
      { key: "Cross-Origin-Opener-Policy", value: "same-origin" },
      { key: "Cross-Origin-Resource-Policy", value: "same-origin" },
      { key: "Permissions-Policy", value: "camera=(), microphone=(), geolocation=(), payment=(), usb=()" },
      { key: "Strict-Transport-Security", value: "max-age=31536000; includeSubDomains" },
    ];
    return [
      { source: "/:path*", headers: common },
      {
        source: "/api/:path*",
        headers: [
          { key: "Content-Security-Policy", value: "default-src 'none'; frame-ancestors 'none'" },
          { key: "Cache-Control", value: "no-store" },
        ],
      },
    ];
  },
};

export default nextConfig;
