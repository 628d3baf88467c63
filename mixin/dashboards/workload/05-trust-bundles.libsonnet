// Row "Trust bundles" of the workload dashboard. gridPos.y is relative to the row (0 = just below its
// header); the row's height is that of its tallest column. Panel ids are assigned in order.
local bundles = import '../bundle-panels.libsonnet';
function(c) {
  title: "Trust bundles",
  panels: [
    {
      type: "table",
      title: "Trust bundles",
      description: "The bundles this instance holds. Expired CAs next to valid ones are normal; no valid CA is critical (SpiffeTrustBundleCAExpiring). JWT keys: signing keys in the trust domain's JWT bundle. Changes: times the set of CAs changed over the dashboard's time range.",
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
          expr: "spiffe_trust_bundle_latest_expiry_timestamp_seconds{instance=\"$instance\", source=~\"$source\"} - time()",
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
          expr: "spiffe_trust_bundle_latest_expiry_timestamp_seconds{instance=\"$instance\", source=~\"$source\"} * 1000",
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
          expr: "spiffe_trust_bundle_earliest_expiry_timestamp_seconds{instance=\"$instance\", source=~\"$source\"} * 1000",
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
          expr: "spiffe_trust_bundle_valid_certificates{instance=\"$instance\", source=~\"$source\"}",
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
          expr: "spiffe_trust_bundle_certificates{instance=\"$instance\", source=~\"$source\"}",
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
          expr: "spiffe_jwt_bundle_keys{instance=\"$instance\", source=~\"$source\"}",
          refId: "F",
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
          expr: "increase(spiffe_trust_bundle_updates_total{instance=\"$instance\", source=~\"$source\"}[$__range])",
          refId: "G",
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
                value: "Horizon in"
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
                      value: c.bundleHorizonSeconds
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
                value: "Newest CA expires"
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
                value: "Soonest valid CA expires"
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
                value: "Valid CAs"
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
                value: "CAs"
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
                value: "JWT keys"
              }
            ]
          },
          {
            matcher: {
              id: "byName",
              options: "Value #G"
            },
            properties: [
              {
                id: "displayName",
                value: "Changes"
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
              options: "trust_domain"
            },
            properties: [
              {
                id: "displayName",
                value: "Trust domain"
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
            displayName: "Horizon in",
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
              trust_domain: 0,
              source: 1,
              "Value #A": 2,
              "Value #B": 3,
              "Value #C": 4,
              "Value #D": 5,
              "Value #E": 6,
              "Value #F": 7,
              "Value #G": 8
            }
          }
        }
      ]
    },
    {
      type: "table",
      title: "CA certificates",
      description: "Every CA certificate in this instance's bundles, by subject key identifier (lowercase hex, as openssl x509 -text shows it without colons). During a CA rotation old and new roots appear together; a pruned root disappears. Expired roots are normal until SPIRE prunes them.",
      datasource: {
        type: "prometheus",
        uid: "${datasource}"
      },
      gridPos: {
        x: 0,
        y: 6,
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
          expr: "spiffe_trust_bundle_ca_expiry_timestamp_seconds{instance=\"$instance\", source=~\"$source\"} - time()",
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
          expr: "spiffe_trust_bundle_ca_expiry_timestamp_seconds{instance=\"$instance\", source=~\"$source\"} * 1000",
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
              options: "trust_domain"
            },
            properties: [
              {
                id: "displayName",
                value: "Trust domain"
              }
            ]
          },
          {
            matcher: {
              id: "byName",
              options: "ca"
            },
            properties: [
              {
                id: "displayName",
                value: "CA (subject key id)"
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
              trust_domain: 0,
              ca: 1,
              source: 2,
              "Value #A": 3,
              "Value #B": 4
            }
          }
        }
      ]
    },
    bundles.consistency(c, 'instance="$instance"', '', { x: 0, y: 12, w: 12, h: 6 }),
    bundles.federation(c, 'instance="$instance"', '', { x: 12, y: 12, w: 12, h: 6 }),
  ],
}
