// Next.js's global types (CSS imports among them) for `tsc` on a fresh clone: next-env.d.ts,
// which Next writes with the same reference, is git-ignored and exists only after a build.
/// <reference types="next" />
