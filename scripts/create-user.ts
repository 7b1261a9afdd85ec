/**
 * Creates a user (or resets the password of an existing one with --reset):
 *
 *   npx tsx scripts/create-user.ts alice@example.com admin
 *   REVENANT_NEW_USER_PASSWORD=… npx tsx scripts/create-user.ts bob@example.com viewer
 *
 * The password comes from REVENANT_NEW_USER_PASSWORD, or is prompted for (not echoed).
 * --reset also ends every session of the user (a reset is often the answer to a leak),
 * and both creation and reset are written to the audit log.
 * Uses the same configuration as the app (REVENANT_DATA_DIR or CLICKHOUSE_URL). In embedded
 * mode the data directory belongs to one process: stop the app first, or use the API
 * (POST /api/v1/users) while it runs.
 */
import { createInterface } from "node:readline";
import { Writable } from "node:stream";
import os from "node:os";
import { audit } from "@/lib/auth/audit";
import { ROLES, type Principal, type Role } from "@/lib/auth/roles";
import { SessionStore } from "@/lib/auth/sessions";
import { UserStore } from "@/lib/auth/users";
import { closeStore, store } from "@/lib/store/clickhouse";
import { migrate } from "@/lib/store/migrate";

async function promptHidden(question: string): Promise<string> {
  let muted = false;
  const output = new Writable({
    write(chunk, _enc, cb) {
      if (!muted) process.stdout.write(chunk);
      cb();
    },
  });
  const rl = createInterface({ input: process.stdin, output, terminal: true });
  process.stdout.write(question);
  muted = true;
  const answer = await new Promise<string>((resolve) => rl.question("", resolve));
  rl.close();
  process.stdout.write("\n");
  return answer;
}

async function main() {
  const args = process.argv.slice(2);
  const reset = args.includes("--reset");
  const [email, role] = args.filter((a) => !a.startsWith("--"));
  if (!email || !role || !(ROLES as readonly string[]).includes(role)) {
    console.error(`usage: npx tsx scripts/create-user.ts <email> <${ROLES.join("|")}> [--reset]`);
    process.exit(2);
  }
  let password = process.env.REVENANT_NEW_USER_PASSWORD ?? "";
  if (!password) {
    if (!process.stdin.isTTY) {
      console.error("set REVENANT_NEW_USER_PASSWORD or run in a terminal to be prompted");
      process.exit(2);
    }
    password = await promptHidden("Password: ");
    if ((await promptHidden("Again: ")) !== password) {
      console.error("the passwords differ");
      process.exit(2);
    }
  }
  await migrate(store().writer);
  const users = new UserStore(store().reader, store().writer);
  const existing = await users.byEmailWithHash(email);
  if (existing && !reset) {
    console.error(`${email} exists; pass --reset to set its role and password`);
    process.exit(1);
  }
  const user = existing ? await users.update(existing.id, { role: role as Role, password, disabled: false }) : await users.create({ email, role: role as Role, password });
  const cli: Principal = { kind: "system", id: "cli:create-user", name: `create-user (${os.userInfo().username})`, role: "admin" };
  if (existing) {
    await new SessionStore(store().reader, store().writer).revokeAllFor(user!.id);
    await audit(cli, "user.reset", user!.email, { user_id: user!.id, role: user!.role, sessions_ended: true }, undefined, { required: true });
  } else {
    await audit(cli, "user.create", user!.email, { user_id: user!.id, role: user!.role }, undefined, { required: true });
  }
  console.log(`${existing ? "updated" : "created"} ${user!.email} (${user!.role}), id ${user!.id}${existing ? "; its sessions were ended" : ""}`);
  await closeStore();
}

main().catch((err) => {
  console.error((err as Error).message);
  process.exit(1);
});
