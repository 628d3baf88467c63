// Row "Renewal and JWT-SVIDs" of the overview dashboard. gridPos.y is relative to the row (0 = just below its
// header); the row's height is that of its tallest column. Panel ids are assigned in order.
function(c) {
  title: "Renewal and JWT-SVIDs",
  panels: [
    {
      type: "stat",
      title: "Renewed on time (1d)",
      description: "Share of the X.509-SVID generations that ended over the last day and were replaced by their renewal deadline, for the worst selected source (recorded per source). SpiffeX509SVIDRenewalSuccessRateLow fires under 99.9 % once the day holds 1000 generations (see Generations).",
      datasource: {
        type: "prometheus",
        uid: "${datasource}"
      },
      gridPos: {
        x: 0,
        y: 0,
        w: 4,
        h: 4
      },
      targets: [
        {
          datasource: {
            type: "prometheus",
            uid: "${datasource}"
          },
          editorMode: "code",
          expr: "min(source:spiffe_x509_svid_renewals_total:on_time_ratio_increase1d{source=~\"$source\"})",
          refId: "A",
          legendFormat: "__auto",
          range: false,
          instant: true,
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
                color: "green",
                value: c.renewalSuccessObjective
              }
            ]
          },
          mappings: [],
          noValue: "No renewals yet",
          decimals: 2
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
      title: "Generations (1d)",
      description: "X.509-SVID generations that ended over the last day, all outcomes. Under 1000 the success-rate alert stays silent: one late renewal would already break 99.9 %, and the per-identity alerts cover it.",
      datasource: {
        type: "prometheus",
        uid: "${datasource}"
      },
      gridPos: {
        x: 4,
        y: 0,
        w: 4,
        h: 4
      },
      targets: [
        {
          datasource: {
            type: "prometheus",
            uid: "${datasource}"
          },
          editorMode: "code",
          expr: "sum(source:spiffe_x509_svid_renewals_total:increase1d{source=~\"$source\"})",
          refId: "A",
          legendFormat: "__auto",
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
                color: "text",
                value: null
              }
            ]
          },
          mappings: [],
          noValue: "0",
          decimals: 0
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
        colorMode: "value",
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
      title: "Renewal outcomes",
      description: "X.509-SVID generations ending per minute, fleet-wide, by outcome: on_time (replaced by the deadline), late (replaced after it), missed (expired unreplaced).",
      datasource: {
        type: "prometheus",
        uid: "${datasource}"
      },
      gridPos: {
        x: 8,
        y: 0,
        w: 8,
        h: 8
      },
      targets: [
        {
          datasource: {
            type: "prometheus",
            uid: "${datasource}"
          },
          editorMode: "code",
          expr: "60 * sum by (outcome) (source_outcome:spiffe_x509_svid_renewals_total:rate5m{source=~\"$source\"})",
          refId: "A",
          legendFormat: "{{outcome}}",
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
      type: "timeseries",
      title: "Renewal success (1d)",
      description: "On-time share of the last day's X.509-SVID generations per source; the dashed line is the 99.9 % objective of SpiffeX509SVIDRenewalSuccessRateLow.",
      datasource: {
        type: "prometheus",
        uid: "${datasource}"
      },
      gridPos: {
        x: 16,
        y: 0,
        w: 8,
        h: 8
      },
      targets: [
        {
          datasource: {
            type: "prometheus",
            uid: "${datasource}"
          },
          editorMode: "code",
          expr: "source:spiffe_x509_svid_renewals_total:on_time_ratio_increase1d{source=~\"$source\"}",
          refId: "A",
          legendFormat: "{{source}}",
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
            axisSoftMin: 0.99,
            stacking: {
              mode: "none",
              group: "A"
            },
            thresholdsStyle: {
              mode: "dashed"
            },
            axisSoftMax: 1
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
                color: "green",
                value: c.renewalSuccessObjective
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
      title: "Renewal overdue",
      description: "Identities past their renewal deadline with no replacement seen (SpiffeX509SVIDRenewalOverdue after 5 minutes). Listed below.",
      datasource: {
        type: "prometheus",
        uid: "${datasource}"
      },
      gridPos: {
        x: 0,
        y: 4,
        w: 4,
        h: 4
      },
      targets: [
        {
          datasource: {
            type: "prometheus",
            uid: "${datasource}"
          },
          editorMode: "code",
          expr: "sum(source_trust_domain:spiffe_x509_svid_renewal_overdue:sum{source=~\"$source\"})",
          refId: "A",
          legendFormat: "__auto",
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
              },
              {
                color: "red",
                value: 1
              }
            ]
          },
          mappings: [],
          noValue: "0"
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
      title: "JWT-SVIDs failing",
      description: "Exporters' own JWT-SVIDs (one per audience set configured with --collector.workload-api.jwt-audience) that fail a check or have expired (SpiffeJWTSVIDInvalid, SpiffeJWTSVIDExpiring).",
      datasource: {
        type: "prometheus",
        uid: "${datasource}"
      },
      gridPos: {
        x: 4,
        y: 4,
        w: 4,
        h: 4
      },
      targets: [
        {
          datasource: {
            type: "prometheus",
            uid: "${datasource}"
          },
          editorMode: "code",
          expr: "count(spiffe_jwt_svid_valid{instance=~\"$instance\", source=~\"$source\", spiffe_id=~\"$spiffe_id\"} == 0) or vector(0)",
          refId: "A",
          legendFormat: "__auto",
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
              },
              {
                color: "red",
                value: 1
              }
            ]
          },
          mappings: [],
          noValue: "0"
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
      title: "Overdue identities",
      description: "Up to 50 identities past their renewal deadline with no replacement seen, longest overdue first. Click an instance to open the workload view.",
      datasource: {
        type: "prometheus",
        uid: "${datasource}"
      },
      gridPos: {
        x: 0,
        y: 8,
        w: 24,
        h: 7
      },
      targets: [
        {
          datasource: {
            type: "prometheus",
            uid: "${datasource}"
          },
          editorMode: "code",
          expr: "topk(50, (time() - spiffe_x509_svid_renewal_deadline_timestamp_seconds{instance=~\"$instance\", source=~\"$source\", spiffe_id=~\"$spiffe_id\"}) and spiffe_x509_svid_renewal_overdue{instance=~\"$instance\", source=~\"$source\", spiffe_id=~\"$spiffe_id\"} == 1)",
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
          expr: "spiffe_x509_svid_expires_in_seconds{instance=~\"$instance\", source=~\"$source\", spiffe_id=~\"$spiffe_id\"} and topk(50, (time() - spiffe_x509_svid_renewal_deadline_timestamp_seconds{instance=~\"$instance\", source=~\"$source\", spiffe_id=~\"$spiffe_id\"}) and spiffe_x509_svid_renewal_overdue{instance=~\"$instance\", source=~\"$source\", spiffe_id=~\"$spiffe_id\"} == 1)",
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
          },
          noValue: "No identity is overdue"
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
                value: "Past deadline by"
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
              options: "Value #B"
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
            displayName: "Past deadline by",
            desc: true
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
              "Value #B": 4
            }
          }
        }
      ]
    },
  ],
}
