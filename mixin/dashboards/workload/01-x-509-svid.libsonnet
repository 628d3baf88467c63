// Row "X.509-SVID" of the workload dashboard. gridPos.y is relative to the row (0 = just below its
// header); the row's height is that of its tallest column. Panel ids are assigned in order.
function(c) {
  title: "X.509-SVID",
  panels: [
    {
      type: "stat",
      title: "Expires in",
      description: "Countdown to notAfter per SVID. Red under 1 h (SpiffeX509SVIDExpiringCritical), orange under 6 h.",
      datasource: {
        type: "prometheus",
        uid: "${datasource}"
      },
      gridPos: {
        x: 0,
        y: 0,
        w: 8,
        h: 5
      },
      targets: [
        {
          datasource: {
            type: "prometheus",
            uid: "${datasource}"
          },
          editorMode: "code",
          expr: "spiffe_x509_svid_expires_in_seconds{instance=\"$instance\", source=~\"$source\", spiffe_id=~\"$spiffe_id\"}",
          refId: "A",
          legendFormat: "{{spiffe_id}}",
          range: true,
          instant: false,
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
        colorMode: "background",
        graphMode: "area",
        justifyMode: "auto",
        orientation: "auto",
        textMode: "auto",
        wideLayout: true,
        showPercentChange: false
      }
    },
    {
      type: "stat",
      title: "Lifetime left",
      description: "Share of the SVID's lifetime (notAfter - notBefore) left. SPIRE rotates at 50 %; orange under 25 % (SpiffeX509SVIDExpiringSoon).",
      datasource: {
        type: "prometheus",
        uid: "${datasource}"
      },
      gridPos: {
        x: 8,
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
          expr: "spiffe_x509_svid_expires_in_seconds{instance=\"$instance\", source=~\"$source\", spiffe_id=~\"$spiffe_id\"} / (spiffe_x509_svid_expiry_timestamp_seconds{instance=\"$instance\", source=~\"$source\", spiffe_id=~\"$spiffe_id\"} - spiffe_x509_svid_issued_timestamp_seconds{instance=\"$instance\", source=~\"$source\", spiffe_id=~\"$spiffe_id\"})",
          refId: "A",
          legendFormat: "{{spiffe_id}}",
          range: true,
          instant: false,
          format: "time_series"
        }
      ],
      fieldConfig: {
        defaults: {
          unit: "percentunit",
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
                color: "orange",
                value: 0
              },
              {
                color: "green",
                value: c.svidWarningFraction
              }
            ]
          },
          mappings: [],
          decimals: 1
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
        textMode: "auto",
        wideLayout: true,
        showPercentChange: false
      }
    },
    {
      type: "stat",
      title: "Checks",
      description: "1 when the SVID passes every check (SpiffeX509SVIDInvalid, SpiffeX509SVIDExpired).",
      datasource: {
        type: "prometheus",
        uid: "${datasource}"
      },
      gridPos: {
        x: 14,
        y: 0,
        w: 5,
        h: 5
      },
      targets: [
        {
          datasource: {
            type: "prometheus",
            uid: "${datasource}"
          },
          editorMode: "code",
          expr: "spiffe_x509_svid_valid{instance=\"$instance\", source=~\"$source\", spiffe_id=~\"$spiffe_id\"}",
          refId: "A",
          legendFormat: "{{spiffe_id}}",
          range: true,
          instant: false,
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
                  text: "valid",
                  color: "green",
                  index: 0
                },
                "0": {
                  text: "invalid",
                  color: "red",
                  index: 1
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
        textMode: "auto",
        wideLayout: true,
        showPercentChange: false
      }
    },
    {
      type: "stat",
      title: "Workload API stream",
      description: "1 while the FetchX509SVID stream is open and healthy (SpiffeWorkloadAPIDown after 5 minutes at 0).",
      datasource: {
        type: "prometheus",
        uid: "${datasource}"
      },
      gridPos: {
        x: 19,
        y: 0,
        w: 5,
        h: 5
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
          unit: "short",
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
        textMode: "auto",
        wideLayout: true,
        showPercentChange: false
      }
    },
    {
      type: "table",
      title: "SVIDs",
      description: "Every SVID of the instance with its validity window, and the earliest NotAfter of the intermediate CAs served with it (SpiffeX509SVIDIntermediateExpiresFirst fires when that comes before the leaf's).",
      datasource: {
        type: "prometheus",
        uid: "${datasource}"
      },
      gridPos: {
        x: 0,
        y: 5,
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
          expr: "spiffe_x509_svid_expires_in_seconds{instance=\"$instance\", source=~\"$source\", spiffe_id=~\"$spiffe_id\"}",
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
          expr: "spiffe_x509_svid_expiry_timestamp_seconds{instance=\"$instance\", source=~\"$source\", spiffe_id=~\"$spiffe_id\"} * 1000",
          refId: "B",
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
          expr: "spiffe_x509_svid_issued_timestamp_seconds{instance=\"$instance\", source=~\"$source\", spiffe_id=~\"$spiffe_id\"} * 1000",
          refId: "C",
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
          expr: "(spiffe_x509_svid_expiry_timestamp_seconds{instance=\"$instance\", source=~\"$source\", spiffe_id=~\"$spiffe_id\"} - spiffe_x509_svid_issued_timestamp_seconds{instance=\"$instance\", source=~\"$source\", spiffe_id=~\"$spiffe_id\"})",
          refId: "D",
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
          expr: "spiffe_x509_svid_expires_in_seconds{instance=\"$instance\", source=~\"$source\", spiffe_id=~\"$spiffe_id\"} / (spiffe_x509_svid_expiry_timestamp_seconds{instance=\"$instance\", source=~\"$source\", spiffe_id=~\"$spiffe_id\"} - spiffe_x509_svid_issued_timestamp_seconds{instance=\"$instance\", source=~\"$source\", spiffe_id=~\"$spiffe_id\"})",
          refId: "E",
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
          expr: "spiffe_x509_svid_intermediate_expiry_timestamp_seconds{instance=\"$instance\", source=~\"$source\", spiffe_id=~\"$spiffe_id\"} * 1000",
          refId: "F",
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
              options: "Value #C"
            },
            properties: [
              {
                id: "displayName",
                value: "Issued at (notBefore)"
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
              options: "Value #D"
            },
            properties: [
              {
                id: "displayName",
                value: "Lifetime"
              },
              {
                id: "unit",
                value: "s"
              }
            ]
          },
          {
            matcher: {
              id: "byName",
              options: "Value #E"
            },
            properties: [
              {
                id: "displayName",
                value: "Lifetime left"
              },
              {
                id: "unit",
                value: "percentunit"
              },
              {
                id: "decimals",
                value: 1
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
                      value: 0
                    },
                    {
                      color: "green",
                      value: c.svidWarningFraction
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
              options: "Value #F"
            },
            properties: [
              {
                id: "displayName",
                value: "Intermediate CA expires at"
              },
              {
                id: "unit",
                value: "dateTimeAsIso"
              },
              {
                id: "noValue",
                value: "no intermediate"
              }
            ]
          },
          {
            matcher: {
              id: "byName",
              options: "spiffe_id"
            },
            properties: [
              {
                id: "displayName",
                value: "SPIFFE ID"
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
              spiffe_id: 0,
              source: 1,
              "Value #A": 2,
              "Value #B": 3,
              "Value #C": 4,
              "Value #D": 5,
              "Value #E": 6,
              "Value #F": 7
            }
          }
        }
      ]
    },
    {
      type: "timeseries",
      title: "Time to expiry",
      description: "Countdown per SVID: each rotation jumps back up (also marked by the \"SVID rotations\" annotation). Lines at 1 h and 6 h.",
      datasource: {
        type: "prometheus",
        uid: "${datasource}"
      },
      gridPos: {
        x: 0,
        y: 11,
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
          expr: "spiffe_x509_svid_expires_in_seconds{instance=\"$instance\", source=~\"$source\", spiffe_id=~\"$spiffe_id\"}",
          refId: "A",
          legendFormat: "{{spiffe_id}}",
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
      title: "Lifetime left",
      description: "Share of lifetime left per SVID. SPIRE rotates at 50 %; the warning alert is at 25 %.",
      datasource: {
        type: "prometheus",
        uid: "${datasource}"
      },
      gridPos: {
        x: 12,
        y: 11,
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
          expr: "spiffe_x509_svid_expires_in_seconds{instance=\"$instance\", source=~\"$source\", spiffe_id=~\"$spiffe_id\"} / (spiffe_x509_svid_expiry_timestamp_seconds{instance=\"$instance\", source=~\"$source\", spiffe_id=~\"$spiffe_id\"} - spiffe_x509_svid_issued_timestamp_seconds{instance=\"$instance\", source=~\"$source\", spiffe_id=~\"$spiffe_id\"})",
          refId: "A",
          legendFormat: "{{spiffe_id}}",
          range: true,
          instant: false,
          format: "time_series"
        }
      ],
      fieldConfig: {
        defaults: {
          unit: "percentunit",
          custom: {
            drawStyle: "line",
            lineWidth: 1,
            fillOpacity: 10,
            gradientMode: "none",
            showPoints: "never",
            spanNulls: false,
            axisPlacement: "auto",
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
                color: "red",
                value: null
              },
              {
                color: "orange",
                value: 0
              },
              {
                color: "green",
                value: c.svidWarningFraction
              }
            ]
          },
          mappings: [],
          min: 0,
          max: 1
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
      type: "table",
      title: "Problems",
      description: "Checks the SVIDs fail right now (see docs/runbooks.md#spiffex509svidinvalid for the reasons).",
      datasource: {
        type: "prometheus",
        uid: "${datasource}"
      },
      gridPos: {
        x: 0,
        y: 19,
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
          expr: "spiffe_x509_svid_problem{instance=\"$instance\", source=~\"$source\", spiffe_id=~\"$spiffe_id\"} == 1",
          refId: "A",
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
          },
          noValue: "No problems"
        },
        overrides: [
          {
            matcher: {
              id: "byName",
              options: "spiffe_id"
            },
            properties: [
              {
                id: "displayName",
                value: "SPIFFE ID"
              }
            ]
          },
          {
            matcher: {
              id: "byName",
              options: "reason"
            },
            properties: [
              {
                id: "displayName",
                value: "Reason"
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
          },
          {
            matcher: {
              id: "byName",
              options: "Value"
            },
            properties: [
              {
                id: "displayName",
                value: "Failing"
              },
              {
                id: "custom.cellOptions",
                value: {
                  type: "color-text"
                }
              },
              {
                id: "mappings",
                value: [
                  {
                    type: "value",
                    options: {
                      "1": {
                        text: "yes",
                        color: "red",
                        index: 0
                      }
                    }
                  }
                ]
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
        }
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
            indexByName: {}
          }
        }
      ]
    },
    {
      type: "timeseries",
      title: "Problems over time",
      description: "Failing checks per SVID and reason.",
      datasource: {
        type: "prometheus",
        uid: "${datasource}"
      },
      gridPos: {
        x: 12,
        y: 19,
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
          expr: "sum by (spiffe_id, reason) (spiffe_x509_svid_problem{instance=\"$instance\", source=~\"$source\", spiffe_id=~\"$spiffe_id\"})",
          refId: "A",
          legendFormat: "{{spiffe_id}} {{reason}}",
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
  ],
}
