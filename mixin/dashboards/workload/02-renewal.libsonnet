// Row "Renewal" of the workload dashboard. gridPos.y is relative to the row (0 = just below its
// header); the row's height is that of its tallest column. Panel ids are assigned in order.
function(c) {
  title: "Renewal",
  panels: [
    {
      type: "state-timeline",
      title: "Renewal overdue",
      description: "Per identity: on schedule, or past its renewal deadline (notBefore + lifetime x --renewal.deadline-fraction) with no replacement seen. SpiffeX509SVIDRenewalOverdue fires after 5 minutes overdue.",
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
          expr: "spiffe_x509_svid_renewal_overdue{instance=\"$instance\", source=~\"$source\", spiffe_id=~\"$spiffe_id\"}",
          refId: "A",
          legendFormat: "{{spiffe_id}}",
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
                color: "green",
                value: null
              },
              {
                color: "red",
                value: 1
              }
            ]
          },
          mappings: [
            {
              type: "value",
              options: {
                "0": {
                  text: "on schedule",
                  color: "green",
                  index: 0
                },
                "1": {
                  text: "overdue",
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
      title: "Renewal history",
      description: "X.509-SVID generations that ended, by outcome and identity: on_time (replaced by the deadline), late (replaced after it), missed (expired unreplaced). The first SVID seen after an exporter restart is a baseline and counts nothing.",
      datasource: {
        type: "prometheus",
        uid: "${datasource}"
      },
      gridPos: {
        x: 0,
        y: 4,
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
          expr: "sum by (spiffe_id, outcome) (increase(spiffe_x509_svid_renewals_total{instance=\"$instance\", source=~\"$source\", spiffe_id=~\"$spiffe_id\"}[$__rate_interval]))",
          refId: "A",
          legendFormat: "{{outcome}} {{spiffe_id}}",
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
        overrides: [
          {
            matcher: {
              id: "byRegexp",
              options: "/on_time/"
            },
            properties: [
              {
                id: "color",
                value: {
                  mode: "fixed",
                  fixedColor: "green"
                }
              }
            ]
          },
          {
            matcher: {
              id: "byRegexp",
              options: "/late/"
            },
            properties: [
              {
                id: "color",
                value: {
                  mode: "fixed",
                  fixedColor: "orange"
                }
              }
            ]
          },
          {
            matcher: {
              id: "byRegexp",
              options: "/missed/"
            },
            properties: [
              {
                id: "color",
                value: {
                  mode: "fixed",
                  fixedColor: "red"
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
      title: "Renewal state",
      description: "Renewal deadline of each identity's current SVID and its generations over the dashboard's time range.",
      datasource: {
        type: "prometheus",
        uid: "${datasource}"
      },
      gridPos: {
        x: 12,
        y: 4,
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
          expr: "spiffe_x509_svid_renewal_deadline_timestamp_seconds{instance=\"$instance\", source=~\"$source\", spiffe_id=~\"$spiffe_id\"} - time()",
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
          expr: "spiffe_x509_svid_renewal_deadline_timestamp_seconds{instance=\"$instance\", source=~\"$source\", spiffe_id=~\"$spiffe_id\"} * 1000",
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
          expr: "sum without (outcome) (increase(spiffe_x509_svid_renewals_total{instance=\"$instance\", source=~\"$source\", spiffe_id=~\"$spiffe_id\", outcome=\"on_time\"}[$__range]))",
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
          expr: "sum without (outcome) (increase(spiffe_x509_svid_renewals_total{instance=\"$instance\", source=~\"$source\", spiffe_id=~\"$spiffe_id\", outcome=\"late\"}[$__range]))",
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
          expr: "sum without (outcome) (increase(spiffe_x509_svid_renewals_total{instance=\"$instance\", source=~\"$source\", spiffe_id=~\"$spiffe_id\", outcome=\"missed\"}[$__range]))",
          refId: "E",
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
                value: "Deadline in"
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
                      color: "green",
                      value: 0
                    }
                  ]
                }
              },
              {
                id: "custom.cellOptions",
                value: {
                  type: "color-text"
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
                value: "Deadline"
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
                value: "On time"
              },
              {
                id: "decimals",
                value: 0
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
                value: "Late"
              },
              {
                id: "decimals",
                value: 0
              },
              {
                id: "thresholds",
                value: {
                  mode: "absolute",
                  steps: [
                    {
                      color: "green",
                      value: null
                    },
                    {
                      color: "orange",
                      value: 1
                    }
                  ]
                }
              },
              {
                id: "custom.cellOptions",
                value: {
                  type: "color-text"
                }
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
                value: "Missed"
              },
              {
                id: "decimals",
                value: 0
              },
              {
                id: "thresholds",
                value: {
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
                }
              },
              {
                id: "custom.cellOptions",
                value: {
                  type: "color-text"
                }
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
            displayName: "Deadline in",
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
              "Value #E": 6
            }
          }
        }
      ]
    },
  ],
}
