import { timestampMs } from "@bufbuild/protobuf/wkt";
import type { DeliveryMinute } from "../../gen/herald/v1/console_service_pb.js";

const WIDTH = 360;
const HEIGHT = 80;

/**
 * Deliveries per minute as stacked bars (sent below, failed on top), hand-drawn SVG: a chart
 * library would weigh more than the whole console for two series of 60 bars.
 */
export function DeliveryChart(props: { minutes: readonly DeliveryMinute[]; label: string }) {
  const { minutes } = props;
  const sent = minutes.reduce((sum, m) => sum + Number(m.sent), 0);
  const failed = minutes.reduce((sum, m) => sum + Number(m.failed), 0);
  const peak = Math.max(1, ...minutes.map((m) => Number(m.sent) + Number(m.failed)));
  const barWidth = WIDTH / Math.max(1, minutes.length);
  const summary = `${props.label}: ${sent} delivered, ${failed} failed in the last ${minutes.length} minutes`;
  return (
    <figure class="chart">
      <svg viewBox={`0 0 ${WIDTH} ${HEIGHT}`} role="img" aria-label={summary} preserveAspectRatio="none">
        <title>{summary}</title>
        {minutes.map((m, i) => {
          const okHeight = (Number(m.sent) / peak) * HEIGHT;
          const failHeight = (Number(m.failed) / peak) * HEIGHT;
          const x = i * barWidth;
          const start = m.startTime ? new Date(timestampMs(m.startTime)).toLocaleTimeString() : "";
          return (
            <g key={start}>
              <title>{`${start}: ${m.sent} delivered, ${m.failed} failed`}</title>
              {okHeight > 0 && (
                <rect class="bar-ok" x={x} y={HEIGHT - okHeight} width={barWidth * 0.8} height={okHeight} />
              )}
              {failHeight > 0 && (
                <rect
                  class="bar-fail"
                  x={x}
                  y={HEIGHT - okHeight - failHeight}
                  width={barWidth * 0.8}
                  height={failHeight}
                />
              )}
            </g>
          );
        })}
      </svg>
      <figcaption>
        {props.label}: <span class="ok">{sent} delivered</span>, <span class="fail">{failed} failed</span>{" "}
        (last {minutes.length} min)
      </figcaption>
    </figure>
  );
}
