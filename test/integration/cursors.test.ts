import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeCursor } from "@/lib/http/cursor";
import { ApiKeyStore } from "@/lib/auth/keys";
import { UserStore } from "@/lib/auth/users";
import { closeStore, store } from "@/lib/store/clickhouse";
import { migrate } from "@/lib/store/migrate";
import { EndpointStore } from "@/lib/webhooks/endpoints";
import * as agentsRoute from "@/app/api/v1/agents/route";
import * as timelineRoute from "@/app/api/v1/agents/[agent_id]/timeline/route";
import * as alertsRoute from "@/app/api/v1/alerts/route";
import * as auditRoute from "@/app/api/v1/audit/route";
import * as keysRoute from "@/app/api/v1/keys/route";
import * as pipelinesRoute from "@/app/api/v1/pipelines/route";
import * as pairsRoute from "@/app/api/v1/post-revocation-actions/route";
import * as revocationsRoute from "@/app/api/v1/revocations/route";
import * as usersRoute from "@/app/api/v1/users/route";
import * as webhooksRoute from "@/app/api/v1/webhooks/route";
import * as deliveriesRoute from "@/app/api/v1/webhooks/[id]/deliveries/route";
import { call, json, TEST_API_KEY } from "../helpers/api";
import { configureTestStack } from "../helpers/stack";

/**
 * Every list pages with the one cursor codec (lib/http/cursor.ts): a cursor the API did not
 * issue is a 400 naming the parameter on each list route, never a 500 from the query it
 * would have fed (docs/API.md, "Conventions").
 */

type Handler = Parameters<typeof call>[0];
let endpointId = "";

beforeAll(async () => {
  configureTestStack({ REVENANT_BOOTSTRAP_API_KEY: TEST_API_KEY });
  await migrate(store().writer);
  const { reader, writer } = store();
  endpointId = (await new EndpointStore(reader, writer).create({ url: "https://example.com/hook", description: "", min_severity: "high", rules: [], pipelines: [], enabled: true }, "test")).id;
  for (const name of ["one", "two", "three"]) await new ApiKeyStore(reader, writer).create({ name, role: "viewer", createdBy: "test" });
  for (const who of ["ann", "bob", "cy"]) await new UserStore(reader, writer).create({ email: `${who}@example.com`, role: "viewer", password: `${who} password 1` });
});

afterAll(async () => {
  await closeStore();
});

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");
/** Not base64 JSON; an array (the shape two lists used to issue); an object without the key's fields. */
const MALFORMED = ["garbage", b64(["2026-01-01T00:00:00.000Z", "x"]), b64({ id: "x" })];
/** A well-formed cursor whose sort value is not a time: lists ordered by time refuse it. */
const NOT_A_TIME = encodeCursor({ t: "yesterday", id: "x" });

function lists(): { path: string; handler: Handler; params?: Record<string, string>; byTime: boolean }[] {
  return [
    { path: "/api/v1/agents", handler: agentsRoute.GET, byTime: true },
    { path: "/api/v1/agents/a-1/timeline", handler: timelineRoute.GET, params: { agent_id: "a-1" }, byTime: true },
    { path: "/api/v1/pipelines", handler: pipelinesRoute.GET, byTime: true },
    { path: "/api/v1/revocations", handler: revocationsRoute.GET, byTime: true },
    { path: "/api/v1/post-revocation-actions", handler: pairsRoute.GET, byTime: true },
    { path: "/api/v1/alerts", handler: alertsRoute.GET, byTime: true },
    { path: "/api/v1/audit", handler: auditRoute.GET, byTime: true },
    { path: `/api/v1/webhooks/${endpointId}/deliveries`, handler: deliveriesRoute.GET, params: { id: endpointId }, byTime: true },
    { path: "/api/v1/webhooks", handler: webhooksRoute.GET, byTime: true },
    { path: "/api/v1/keys", handler: keysRoute.GET, byTime: true },
    // Users are ordered by email: any text is a sort value there.
    { path: "/api/v1/users", handler: usersRoute.GET, byTime: false },
  ];
}

describe("list cursors", () => {
  it("answers a malformed cursor with a 400 naming `cursor` on every list route", async () => {
    for (const list of lists()) {
      for (const cursor of [...MALFORMED, ...(list.byTime ? [NOT_A_TIME] : [])]) {
        const res = await call(list.handler, `${list.path}?cursor=${cursor}`, { params: list.params });
        expect(res.status, `${list.path} cursor=${cursor}`).toBe(400);
        expect((await json(res)).error).toMatchObject({ code: "invalid_parameter", param: "cursor" });
      }
    }
  });

  it("answers a cursor issued by another list with a 400 on the post-revocation actions (its tie-breaker is a pair)", async () => {
    const res = await call(pairsRoute.GET, `/api/v1/post-revocation-actions?cursor=${encodeCursor({ t: "2026-01-01T00:00:00.000Z", id: "alert-1" })}`);
    expect(res.status).toBe(400);
    expect((await json(res)).error).toMatchObject({ param: "cursor" });
  });

  it("pages the users and API keys lists with the cursors they issue, each row once, in the list's order", async () => {
    for (const handler of [usersRoute.GET, keysRoute.GET]) {
      const path = handler === usersRoute.GET ? "/api/v1/users" : "/api/v1/keys";
      const whole = (await json(await call(handler, path))).items.map((r: { id: string }) => r.id);
      const paged: string[] = [];
      let cursor: string | null = null;
      do {
        const page: { items: { id: string }[]; next_cursor: string | null } = await json(await call(handler, `${path}?limit=1${cursor ? `&cursor=${cursor}` : ""}`));
        paged.push(...page.items.map((r) => r.id));
        cursor = page.next_cursor;
      } while (cursor);
      expect(whole.length).toBeGreaterThanOrEqual(3);
      expect(paged).toEqual(whole);
    }
  });
});
