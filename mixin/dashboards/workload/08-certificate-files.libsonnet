// Row "Certificate files" of the workload dashboard. gridPos.y is relative to the row (0 = just below its
// header); the row's height is that of its tallest column. Panel ids are assigned in order.
function(c) {
  title: "Certificate files",
  panels: [
    {
      type: "table",
      title: "Certificate files (glob)",
      description: "Each certificate file matched by a --collector.cert-files.glob source, by source and path: time to its NotAfter and the NotAfter itself (spiffe_certificate_*). A file that stops matching or fails to load has no row; see \"Load errors by reason\". spiffe-helper directory sources show their SVID in the SVIDs table above.",
      datasource: {
        type: "prometheus",
        uid: "${datasource}"
      },
      gridPos: {
        x: 0,
        y: 0,
        w: 24,
        h: 6
      },
      targets: [
        {
          datasource: {
            type: "prometheus",
            uid: "${datasource}"
          },
          editorMode: "code",
          expr: "spiffe_certificate_expires_in_seconds{instance=\"$instance\", source=~\"$source\"}",
          refId: "A",
          legendFormat: "__auto",
          range: false,
          instant: true,
          format: "table"
        },
        {
          datasource: {
            type: "prometheus",
            uid: "${datasource}"
          },
          editorMode: "code",
          expr: "spiffe_certificate_expiry_timestamp_seconds{instance=\"$instance\", source=~\"$source\"} * 1000",
          refId: "B",
          legendFormat: "__auto",
          range: false,
          instant: true,
          format: "table"
        }
      ],
      fieldConfig: {
        defaults: {
          custom: {
            align: "auto",
            cellOptions: {
              type: "auto"
            },
            inspect: false,
            filterable: true
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
          mappings: [],
          color: {
            mode: "thresholds"
          }
        },
        overrides: [
          {
            matcher: {
              id: "byName",
              options: "Value #A"
            },
            properties: [
              {
                id: "displayName",
                value: "Expires in"
              },
              {
                id: "unit",
                value: "s"
              },
              {
                id: "thresholds",
                value: {
                  mode: "absolute",
                  steps: [
                    {
                      color: "red",
                      value: null
                    },
                    {
                      color: "orange",
                      value: c.svidCriticalSeconds
                    },
                    {
                      color: "green",
                      value: c.svidWarningSeconds
                    }
                  ]
                }
              },
              {
                id: "custom.cellOptions",
                value: {
                  type: "color-background"
                }
              }
            ]
          },
          {
            matcher: {
              id: "byName",
              options: "Value #B"
            },
            properties: [
              {
                id: "displayName",
                value: "Expires at (notAfter)"
              },
              {
                id: "unit",
                value: "dateTimeAsIso"
              }
            ]
          },
          {
            matcher: {
              id: "byName",
              options: "path"
            },
            properties: [
              {
                id: "displayName",
                value: "Path"
              }
            ]
          },
          {
            matcher: {
              id: "byName",
              options: "source"
            },
            properties: [
              {
                id: "displayName",
                value: "Source"
              }
            ]
          }
        ]
      },
      options: {
        showHeader: true,
        cellHeight: "sm",
        footer: {
          show: false,
          reducer: [
            "sum"
          ],
          fields: ""
        },
        sortBy: [
          {
            displayName: "Expires in",
            desc: false
          }
        ]
      },
      transformations: [
        {
          id: "merge",
          options: {}
        },
        {
          id: "organize",
          options: {
            excludeByName: {
              Time: true,
              __name__: true,
              job: true,
              instance: true
            },
            renameByName: {},
            indexByName: {
              path: 0,
              source: 1,
              "Value #A": 2,
              "Value #B": 3
            }
          }
        }
      ]
    },
    {
      type: "timeseries",
      title: "Load errors by reason",
      description: "Failed file loads of each certificate-file source by reason (spiffe_cert_file_load_errors_total; every reason starts at 0, and reasons that stayed at 0 over the time range are hidden). A problem that persists is counted again at each periodic re-read. SpiffeCertFilesLoadFailing fires when every load of a source failed for 5 minutes.",
      datasource: {
        type: "prometheus",
        uid: "${datasource}"
      },
      gridPos: {
        x: 0,
        y: 6,
        w: 16,
        h: 7
      },
      targets: [
        {
          datasource: {
            type: "prometheus",
            uid: "${datasource}"
          },
          editorMode: "code",
          expr: "sum by (source, reason) (increase(spiffe_cert_file_load_errors_total{instance=\"$instance\", source=~\"$source\"}[$__rate_interval]))",
          refId: "A",
          legendFormat: "{{source}}: {{reason}}",
          range: true,
          instant: false,
          format: "time_series"
        }
      ],
      fieldConfig: {
        defaults: {
          unit: "short",
          decimals: 0,
          custom: {
            drawStyle: "bars",
            lineWidth: 1,
            fillOpacity: 80,
            gradientMode: "none",
            showPoints: "never",
            spanNulls: false,
            axisPlacement: "auto",
            axisSoftMin: 0,
            axisSoftMax: 1,
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
              },
              {
                color: "red",
                value: 1
              }
            ]
          },
          mappings: []
        },
        overrides: [
          {
            matcher: {
              id: "byValue",
              options: {
                op: "lte",
                reducer: "max",
                value: 0
              }
            },
            properties: [
              {
                id: "custom.hideFrom",
                value: {
                  legend: true,
                  tooltip: true,
                  viz: true
                }
              }
            ]
          }
        ]
      },
      options: {
        legend: {
          displayMode: "table",
          placement: "bottom",
          showLegend: true,
          calcs: [
            "sum"
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
      title: "Since last successful load",
      description: "Per certificate-file source, time since a load last succeeded without any error (time() - spiffe_cert_file_last_load_success_timestamp_seconds). A healthy source re-reads its files every --collector.cert-files.refresh-interval (60 s), so this stays under about a minute; orange after 3 minutes, red after 10 (when SpiffeCertFilesLoadFailing fires). \"never\": no load has succeeded since the exporter started.",
      datasource: {
        type: "prometheus",
        uid: "${datasource}"
      },
      gridPos: {
        x: 16,
        y: 6,
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
          expr: "time() - spiffe_cert_file_last_load_success_timestamp_seconds{instance=\"$instance\", source=~\"$source\"}",
          refId: "A",
          legendFormat: "{{source}}",
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
              },
              {
                color: "orange",
                value: c.certFilesLoadWarningSeconds
              },
              {
                color: "red",
                value: c.certFilesLoadCriticalSeconds
              }
            ]
          },
          mappings: [
            {
              type: "range",
              options: {
                from: 1000000000,
                to: 1000000000000,
                result: {
                  text: "never",
                  color: "red",
                  index: 0
                }
              }
            }
          ]
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
        colorMode: "background",
        graphMode: "none",
        justifyMode: "auto",
        orientation: "auto",
        textMode: "value_and_name",
        wideLayout: true,
        showPercentChange: false
      }
    },
  ],
}
