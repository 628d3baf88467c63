// Row "Exporter process" of the workload dashboard. gridPos.y is relative to the row (0 = just below its
// header); the row's height is that of its tallest column. Panel ids are assigned in order.
function(c) {
  title: "Exporter process",
  panels: [
    {
      type: "stat",
      title: "Version",
      description: "Exporter version and revision.",
      datasource: {
        type: "prometheus",
        uid: "${datasource}"
      },
      gridPos: {
        x: 0,
        y: 0,
        w: 6,
        h: 5
      },
      targets: [
        {
          datasource: {
            type: "prometheus",
            uid: "${datasource}"
          },
          editorMode: "code",
          expr: "spiffe_exporter_build_info{instance=\"$instance\"}",
          refId: "A",
          legendFormat: "{{version}} ({{revision}})",
          range: false,
          instant: true,
          format: "time_series"
        }
      ],
      fieldConfig: {
        defaults: {
          unit: "short",
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
        textMode: "name",
        wideLayout: true,
        showPercentChange: false
      }
    },
    {
      type: "stat",
      title: "Uptime",
      description: "Time since the exporter process started.",
      datasource: {
        type: "prometheus",
        uid: "${datasource}"
      },
      gridPos: {
        x: 6,
        y: 0,
        w: 6,
        h: 5
      },
      targets: [
        {
          datasource: {
            type: "prometheus",
            uid: "${datasource}"
          },
          editorMode: "code",
          expr: "time() - process_start_time_seconds{instance=\"$instance\"}",
          refId: "A",
          legendFormat: "__auto",
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
      type: "timeseries",
      title: "Memory",
      description: "Exporter memory.",
      datasource: {
        type: "prometheus",
        uid: "${datasource}"
      },
      gridPos: {
        x: 12,
        y: 0,
        w: 6,
        h: 5
      },
      targets: [
        {
          datasource: {
            type: "prometheus",
            uid: "${datasource}"
          },
          editorMode: "code",
          expr: "process_resident_memory_bytes{instance=\"$instance\"}",
          refId: "A",
          legendFormat: "resident",
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
          expr: "process_virtual_memory_bytes{instance=\"$instance\"}",
          refId: "B",
          legendFormat: "virtual",
          range: true,
          instant: false,
          format: "time_series"
        }
      ],
      fieldConfig: {
        defaults: {
          unit: "bytes",
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
      title: "CPU and file descriptors",
      description: "CPU in cores and the share of file descriptors in use.",
      datasource: {
        type: "prometheus",
        uid: "${datasource}"
      },
      gridPos: {
        x: 18,
        y: 0,
        w: 6,
        h: 5
      },
      targets: [
        {
          datasource: {
            type: "prometheus",
            uid: "${datasource}"
          },
          editorMode: "code",
          expr: "rate(process_cpu_seconds_total{instance=\"$instance\"}[$__rate_interval])",
          refId: "A",
          legendFormat: "CPU (cores)",
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
          expr: "process_open_fds{instance=\"$instance\"} / process_max_fds{instance=\"$instance\"}",
          refId: "B",
          legendFormat: "open fds / max",
          range: true,
          instant: false,
          format: "time_series"
        }
      ],
      fieldConfig: {
        defaults: {
          unit: "short",
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
  ],
}
