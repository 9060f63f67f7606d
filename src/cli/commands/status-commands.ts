/** `herald stats SUBSCRIPTION` (what on-call checks first) and `herald health` (grpc.health.v1 Check). */
import type { Command } from "commander";
import { HealthCheckResponse_ServingStatus as ServingStatus } from "../../../gen/grpc/health/v1/health_pb.js";
import { SubscriptionStatsSchema } from "../../../gen/herald/v1/admin_service_pb.js";
import { SubscriptionSchema } from "../../../gen/herald/v1/resources_pb.js";
import { withConnection } from "../cli-context.js";
import { EXIT_NOT_SERVING, ExitError } from "../exit-codes.js";
import { messageJson, printFields, printJson, printLine } from "../output.js";
import { formatTime } from "./common.js";
import { deliveryTypeName } from "./subscription-commands.js";

/** "NOT_SERVING" for the enum value, as grpc_health_probe prints it. */
export function servingStatusName(status: ServingStatus): string {
  return ServingStatus[status] ?? String(status);
}

export function registerStatusCommands(program: Command): void {
  program
    .command("stats")
    .description("a subscription's backlog, in flight, retries, oldest unacked, last hour's outcomes, DLQ")
    .argument("<subscription>", "subscription name")
    .action(
      withConnection(async ({ conn, isJson, args }) => {
        const name = args[0] as string;
        const [{ subscription, messageCount }, { stats }] = await Promise.all([
          conn.admin.getSubscription({ name }, conn.unary),
          conn.admin.getSubscriptionStats({ name }, conn.unary),
        ]);
        const statsJson = stats ? messageJson(SubscriptionStatsSchema, stats) : {};
        if (isJson) {
          return printJson({
            subscription: subscription ? messageJson(SubscriptionSchema, subscription) : null,
            messageCount: String(messageCount),
            stats: statsJson,
          });
        }
        printFields({
          subscription: name,
          topic: subscription?.topic ?? "",
          type: subscription ? deliveryTypeName(subscription.deliveryType) : "",
          state: !subscription?.isActive
            ? "deleted"
            : subscription.pauseTime
              ? `paused since ${formatTime(subscription.pauseTime)}: ${subscription.pauseReason}`
              : "active",
          ...(subscription?.pushFailingSince
            ? { pushFailingSince: formatTime(subscription.pushFailingSince) }
            : {}),
          delivered: String(messageCount),
          ...statsJson,
        });
      }),
    );

  program
    .command("health")
    .description("grpc.health.v1 Check; exits 3 when the server is not SERVING")
    .option("--service <name>", 'a service such as herald.v1.PublisherService ("" = the whole server)', "")
    .action(
      withConnection(async ({ conn, isJson, command }) => {
        const { service } = command.opts<{ service: string }>();
        const { status } = await conn.health.check({ service }, conn.unary);
        const name = servingStatusName(status);
        if (isJson) printJson({ status: name });
        else printLine(name);
        if (status !== ServingStatus.SERVING) throw new ExitError(`server is ${name}`, EXIT_NOT_SERVING);
      }),
    );
}
