// Row "Identities by time to expiry" of the overview dashboard. gridPos.y is relative to the row (0 = just below its
// header); the row's height is that of its tallest column. Panel ids are assigned in order.
function(c) {
  title: "Identities by time to expiry",
  panels: [
    {
      type: "table",
      title: "Soonest expiring identities",
      description: "The 50 identities closest to expiry, soonest first. Colours follow the alerts: time left red under 1 h and orange under 6 h; lifetime left orange under 25 %. Click an instance to open the workload view.",
      datasource: {
        type: "prometheus",
        uid: "${datasource}"
      },
      gridPos: {
        x: 0,
        y: 0,
        w: 24,
        h: 10
      },
      targets: [
        {
          datasource: {
            type: "prometheus",
            uid: "${datasource}"
          },
          editorMode: "code",
          expr: "bottomk(50, spiffe_x509_svid_expires_in_seconds{instance=~\"$instance\", source=~\"$source\", spiffe_id=~\"$spiffe_id\"})",
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
          expr: "bottomk(50, spiffe_x509_svid_expires_in_seconds{instance=~\"$instance\", source=~\"$source\", spiffe_id=~\"$spiffe_id\"}) / (spiffe_x509_svid_expiry_timestamp_seconds{instance=~\"$instance\", source=~\"$source\", spiffe_id=~\"$spiffe_id\"} - spiffe_x509_svid_issued_timestamp_seconds{instance=~\"$instance\", source=~\"$source\", spiffe_id=~\"$spiffe_id\"})",
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
          expr: "spiffe_x509_svid_expiry_timestamp_seconds{instance=~\"$instance\", source=~\"$source\", spiffe_id=~\"$spiffe_id\"} * 1000 and bottomk(50, spiffe_x509_svid_expires_in_seconds{instance=~\"$instance\", source=~\"$source\", spiffe_id=~\"$spiffe_id\"})",
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
          expr: "spiffe_x509_svid_valid{instance=~\"$instance\", source=~\"$source\", spiffe_id=~\"$spiffe_id\"} and bottomk(50, spiffe_x509_svid_expires_in_seconds{instance=~\"$instance\", source=~\"$source\", spiffe_id=~\"$spiffe_id\"})",
          refId: "D",
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
              options: "Value #C"
            },
            properties: [
              {
                id: "displayName",
                value: "Expires at"
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
                value: "Valid"
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
              }
            ]
          },
          {
            matcher: {
              id: "byName",
              options: "instance"
            },
            properties: [
              {
                id: "displayName",
                value: "Instance"
              },
              {
                id: "links",
                value: [
                  {
                    title: "Open in SPIFFE / Workload",
                    url: "/d/spiffe-workload/spiffe-workload?${datasource:queryparam}&${cluster:queryparam}&var-instance=${__data.fields.instance}&var-source=${__data.fields.source}&var-spiffe_id=${__data.fields.spiffe_id}&${__url_time_range}"
                  }
                ]
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
              job: true
            },
            renameByName: {},
            indexByName: {
              spiffe_id: 0,
              instance: 1,
              source: 2,
              "Value #A": 3,
              "Value #B": 4,
              "Value #C": 5,
              "Value #D": 6
            }
          }
        }
      ]
    },
    {
      type: "timeseries",
      title: "Soonest SVID expiry per trust domain",
      description: "Time left on the soonest-expiring SVID of each trust domain; a healthy fleet shows a sawtooth. Lines at 1 h and 6 h.",
      datasource: {
        type: "prometheus",
        uid: "${datasource}"
      },
      gridPos: {
        x: 0,
        y: 10,
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
          expr: "source_trust_domain:spiffe_x509_svid_expiry_timestamp_seconds:min{source=~\"$source\"} - time()",
          refId: "A",
          legendFormat: "{{trust_domain}} ({{source}})",
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
      title: "Failing checks by reason",
      description: "SVIDs failing each check, fleet-wide (SpiffeX509SVIDInvalid, SpiffeX509SVIDExpired).",
      datasource: {
        type: "prometheus",
        uid: "${datasource}"
      },
      gridPos: {
        x: 12,
        y: 10,
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
          expr: "sum by (reason) (source_trust_domain_reason:spiffe_x509_svid_problem:sum{source=~\"$source\"})",
          refId: "A",
          legendFormat: "{{reason}}",
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
      title: "Identities per trust domain",
      description: "Identities seen per trust domain, and invalid identities in total.",
      datasource: {
        type: "prometheus",
        uid: "${datasource}"
      },
      gridPos: {
        x: 0,
        y: 18,
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
          expr: "sum by (trust_domain) (source_trust_domain:spiffe_x509_svid_valid:count{source=~\"$source\"})",
          refId: "A",
          legendFormat: "{{trust_domain}}",
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
          expr: "sum(source_trust_domain:spiffe_x509_svid_valid:count_eq0{source=~\"$source\"})",
          refId: "B",
          legendFormat: "invalid",
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
        overrides: [
          {
            matcher: {
              id: "byName",
              options: "invalid"
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
      title: "Exporters with unhealthy streams",
      description: "Instances whose Workload API stream is down right now (SpiffeWorkloadAPIDown fires after 5 minutes).",
      datasource: {
        type: "prometheus",
        uid: "${datasource}"
      },
      gridPos: {
        x: 12,
        y: 18,
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
          expr: "spiffe_workload_api_up{instance=~\"$instance\", source=~\"$source\"} == 0",
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
          noValue: "All streams healthy"
        },
        overrides: [
          {
            matcher: {
              id: "byName",
              options: "instance"
            },
            properties: [
              {
                id: "displayName",
                value: "Instance"
              },
              {
                id: "links",
                value: [
                  {
                    title: "Open in SPIFFE / Workload",
                    url: "/d/spiffe-workload/spiffe-workload?${datasource:queryparam}&${cluster:queryparam}&var-instance=${__data.fields.instance}&var-source=${__data.fields.source}&${__url_time_range}"
                  }
                ]
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
                value: "Up"
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
                      "0": {
                        text: "down",
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
              job: true
            },
            renameByName: {},
            indexByName: {}
          }
        }
      ]
    },
  ],
}
