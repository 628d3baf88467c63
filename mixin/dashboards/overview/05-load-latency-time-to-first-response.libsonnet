// Row "Load latency (time to first response)" of the overview dashboard. gridPos.y is relative to the row (0 = just below its
// header); the row's height is that of its tallest column. Panel ids are assigned in order.
function(c) {
  title: "Load latency (time to first response)",
  panels: [
    {
      type: "timeseries",
      title: "Load latency quantiles",
      description: "Fleet p50/p90/p99 of the time from opening a Workload API call to its first response. SpiffeWorkloadAPISlowLoad fires per instance when p99 is above 1 s for 10 minutes.",
      datasource: {
        type: "prometheus",
        uid: "${datasource}"
      },
      gridPos: {
        x: 0,
        y: 0,
        w: 12,
        h: 8
      },
      targets: [
        {
          datasource: {
            type: "prometheus",
            uid: "${datasource}"
          },
          editorMode: "code",
          expr: "source_rpc_quantile:spiffe_workload_api_request_duration_seconds:histogram_quantile_rate5m{source=~\"$source\"}",
          refId: "A",
          legendFormat: "{{rpc}} q{{quantile}} ({{source}})",
          range: true,
          instant: false,
          format: "time_series"
        }
      ],
      fieldConfig: {
        defaults: {
          unit: "s",
          custom: {
            drawStyle: "line",
            lineWidth: 1,
            fillOpacity: 10,
            gradientMode: "none",
            showPoints: "never",
            spanNulls: false,
            axisPlacement: "auto",
            axisSoftMin: 0,
            stacking: {
              mode: "none",
              group: "A"
            },
            thresholdsStyle: {
              mode: "dashed"
            }
          },
          color: {
            mode: "palette-classic"
          },
          thresholds: {
            mode: "absolute",
            steps: [
              {
                color: "green",
                value: null
              },
              {
                color: "red",
                value: c.slowLoadSeconds
              }
            ]
          },
          mappings: []
        },
        overrides: []
      },
      options: {
        legend: {
          displayMode: "table",
          placement: "bottom",
          showLegend: true,
          calcs: [
            "lastNotNull"
          ]
        },
        tooltip: {
          mode: "multi",
          sort: "desc"
        }
      }
    },
    {
      type: "heatmap",
      title: "Load latency distribution",
      description: "Loads per second by latency bucket, fleet-wide.",
      datasource: {
        type: "prometheus",
        uid: "${datasource}"
      },
      gridPos: {
        x: 12,
        y: 0,
        w: 12,
        h: 8
      },
      targets: [
        {
          datasource: {
            type: "prometheus",
            uid: "${datasource}"
          },
          editorMode: "code",
          expr: "sum by (le) (source_rpc_le:spiffe_workload_api_request_duration_seconds_bucket:rate5m{source=~\"$source\"})",
          refId: "A",
          legendFormat: "{{le}}",
          range: true,
          instant: false,
          format: "heatmap"
        }
      ],
      fieldConfig: {
        defaults: {
          custom: {
            hideFrom: {
              legend: false,
              tooltip: false,
              viz: false
            },
            scaleDistribution: {
              type: "linear"
            }
          }
        },
        overrides: []
      },
      options: {
        calculate: false,
        cellGap: 1,
        cellValues: {
          unit: "reqps"
        },
        color: {
          mode: "scheme",
          scheme: "Oranges",
          exponent: 0.5,
          fill: "dark-orange",
          reverse: false,
          scale: "exponential",
          steps: 64
        },
        exemplars: {
          color: "rgba(255,0,255,0.7)"
        },
        filterValues: {
          le: 1e-09
        },
        legend: {
          show: true
        },
        rowsFrame: {
          layout: "auto"
        },
        tooltip: {
          mode: "single",
          showColorScale: false,
          yHistogram: false
        },
        yAxis: {
          axisPlacement: "left",
          reverse: false,
          unit: "s"
        }
      }
    },
  ],
}
