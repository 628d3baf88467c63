// Row "Workload API" of the workload dashboard. gridPos.y is relative to the row (0 = just below its
// header); the row's height is that of its tallest column. Panel ids are assigned in order.
function(c) {
  title: "Workload API",
  panels: [
    {
      type: "state-timeline",
      title: "Stream health",
      description: "Workload API X.509 stream up/down over time; a flapping stream shows as stripes.",
      datasource: {
        type: "prometheus",
        uid: "${datasource}"
      },
      gridPos: {
        x: 0,
        y: 0,
        w: 24,
        h: 4
      },
      targets: [
        {
          datasource: {
            type: "prometheus",
            uid: "${datasource}"
          },
          editorMode: "code",
          expr: "spiffe_workload_api_up{instance=\"$instance\", source=~\"$source\"}",
          refId: "A",
          legendFormat: "{{source}}",
          range: true,
          instant: false,
          format: "time_series"
        }
      ],
      fieldConfig: {
        defaults: {
          color: {
            mode: "thresholds"
          },
          thresholds: {
            mode: "absolute",
            steps: [
              {
                color: "red",
                value: null
              },
              {
                color: "green",
                value: 1
              }
            ]
          },
          mappings: [
            {
              type: "value",
              options: {
                "1": {
                  text: "up",
                  color: "green",
                  index: 0
                },
                "0": {
                  text: "down",
                  color: "red",
                  index: 1
                }
              }
            }
          ],
          custom: {
            fillOpacity: 80,
            lineWidth: 0
          }
        },
        overrides: []
      },
      options: {
        mergeValues: true,
        showValue: "never",
        alignValue: "left",
        rowHeight: 0.9,
        legend: {
          displayMode: "list",
          placement: "bottom",
          showLegend: false
        },
        tooltip: {
          mode: "single",
          sort: "none"
        }
      }
    },
    {
      type: "timeseries",
      title: "Stream updates",
      description: "Messages received on the Workload API streams (SVID rotations, bundle changes).",
      datasource: {
        type: "prometheus",
        uid: "${datasource}"
      },
      gridPos: {
        x: 0,
        y: 4,
        w: 8,
        h: 7
      },
      targets: [
        {
          datasource: {
            type: "prometheus",
            uid: "${datasource}"
          },
          editorMode: "code",
          expr: "sum by (rpc) (increase(spiffe_workload_api_updates_total{instance=\"$instance\", source=~\"$source\"}[$__rate_interval]))",
          refId: "A",
          legendFormat: "{{rpc}}",
          range: true,
          instant: false,
          format: "time_series"
        }
      ],
      fieldConfig: {
        defaults: {
          unit: "short",
          custom: {
            drawStyle: "bars",
            lineWidth: 1,
            fillOpacity: 80,
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
              mode: "off"
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
      type: "timeseries",
      title: "Requests by code",
      description: "Workload API calls and streams by final gRPC code.",
      datasource: {
        type: "prometheus",
        uid: "${datasource}"
      },
      gridPos: {
        x: 8,
        y: 4,
        w: 8,
        h: 7
      },
      targets: [
        {
          datasource: {
            type: "prometheus",
            uid: "${datasource}"
          },
          editorMode: "code",
          expr: "sum by (rpc, code) (increase(spiffe_workload_api_requests_total{instance=\"$instance\", source=~\"$source\"}[$__rate_interval]))",
          refId: "A",
          legendFormat: "{{rpc}} {{code}}",
          range: true,
          instant: false,
          format: "time_series"
        }
      ],
      fieldConfig: {
        defaults: {
          unit: "short",
          custom: {
            drawStyle: "bars",
            lineWidth: 1,
            fillOpacity: 80,
            gradientMode: "none",
            showPoints: "never",
            spanNulls: false,
            axisPlacement: "auto",
            axisSoftMin: 0,
            stacking: {
              mode: "normal",
              group: "A"
            },
            thresholdsStyle: {
              mode: "off"
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
      type: "timeseries",
      title: "Connection failures by reason",
      description: "Failed connections per minute by reason; SpiffeWorkloadAPIConnectionFailures fires above 0.5/min for 10 minutes.",
      datasource: {
        type: "prometheus",
        uid: "${datasource}"
      },
      gridPos: {
        x: 16,
        y: 4,
        w: 8,
        h: 7
      },
      targets: [
        {
          datasource: {
            type: "prometheus",
            uid: "${datasource}"
          },
          editorMode: "code",
          expr: "60 * sum by (reason) (rate(spiffe_workload_api_connection_failures_total{instance=\"$instance\", source=~\"$source\"}[$__rate_interval])) > 0",
          refId: "A",
          legendFormat: "{{reason}}",
          range: true,
          instant: false,
          format: "time_series"
        }
      ],
      fieldConfig: {
        defaults: {
          unit: "cpm",
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
                color: "orange",
                value: c.connectionFailuresPerMinute
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
      type: "timeseries",
      title: "Load latency",
      description: "Time from opening a Workload API call to its first response; SpiffeWorkloadAPISlowLoad fires when p99 is above 1 s for 10 minutes.",
      datasource: {
        type: "prometheus",
        uid: "${datasource}"
      },
      gridPos: {
        x: 0,
        y: 11,
        w: 12,
        h: 7
      },
      targets: [
        {
          datasource: {
            type: "prometheus",
            uid: "${datasource}"
          },
          editorMode: "code",
          expr: "histogram_quantile(0.99, sum by (rpc, le) (rate(spiffe_workload_api_request_duration_seconds_bucket{instance=\"$instance\", source=~\"$source\"}[$__rate_interval])))",
          refId: "A",
          legendFormat: "{{rpc}} p99",
          range: true,
          instant: false,
          format: "time_series"
        },
        {
          datasource: {
            type: "prometheus",
            uid: "${datasource}"
          },
          editorMode: "code",
          expr: "histogram_quantile(0.5, sum by (rpc, le) (rate(spiffe_workload_api_request_duration_seconds_bucket{instance=\"$instance\", source=~\"$source\"}[$__rate_interval])))",
          refId: "B",
          legendFormat: "{{rpc}} p50",
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
      type: "stat",
      title: "Since last update",
      description: "Time since the last message on each stream.",
      datasource: {
        type: "prometheus",
        uid: "${datasource}"
      },
      gridPos: {
        x: 12,
        y: 11,
        w: 6,
        h: 7
      },
      targets: [
        {
          datasource: {
            type: "prometheus",
            uid: "${datasource}"
          },
          editorMode: "code",
          expr: "time() - spiffe_workload_api_last_update_timestamp_seconds{instance=\"$instance\", source=~\"$source\"}",
          refId: "A",
          legendFormat: "{{rpc}}",
          range: false,
          instant: true,
          format: "time_series"
        }
      ],
      fieldConfig: {
        defaults: {
          unit: "s",
          color: {
            mode: "thresholds"
          },
          thresholds: {
            mode: "absolute",
            steps: [
              {
                color: "green",
                value: null
              }
            ]
          },
          mappings: []
        },
        overrides: []
      },
      options: {
        reduceOptions: {
          calcs: [
            "lastNotNull"
          ],
          fields: "",
          values: false
        },
        colorMode: "none",
        graphMode: "none",
        justifyMode: "auto",
        orientation: "auto",
        textMode: "auto",
        wideLayout: true,
        showPercentChange: false
      }
    },
    {
      type: "stat",
      title: "Last update",
      description: "When the last message arrived on each stream.",
      datasource: {
        type: "prometheus",
        uid: "${datasource}"
      },
      gridPos: {
        x: 18,
        y: 11,
        w: 6,
        h: 7
      },
      targets: [
        {
          datasource: {
            type: "prometheus",
            uid: "${datasource}"
          },
          editorMode: "code",
          expr: "spiffe_workload_api_last_update_timestamp_seconds{instance=\"$instance\", source=~\"$source\"} * 1000",
          refId: "A",
          legendFormat: "{{rpc}}",
          range: false,
          instant: true,
          format: "time_series"
        }
      ],
      fieldConfig: {
        defaults: {
          unit: "dateTimeAsIso",
          color: {
            mode: "thresholds"
          },
          thresholds: {
            mode: "absolute",
            steps: [
              {
                color: "green",
                value: null
              }
            ]
          },
          mappings: []
        },
        overrides: []
      },
      options: {
        reduceOptions: {
          calcs: [
            "lastNotNull"
          ],
          fields: "",
          values: false
        },
        colorMode: "none",
        graphMode: "none",
        justifyMode: "auto",
        orientation: "auto",
        textMode: "auto",
        wideLayout: true,
        showPercentChange: false
      }
    },
  ],
}
