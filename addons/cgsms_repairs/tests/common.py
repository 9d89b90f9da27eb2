from odoo.addons.cgsms.compat import PARTNER_MOBILE_FIELD as MOBILE
from odoo.addons.cgsms.tests.common import CgsmsGatewayMixin


class CgsmsRepairsMixin(CgsmsGatewayMixin):
    """An active SMS account (see CgsmsGatewayMixin), a customer with a Portuguese mobile and
    a product to repair."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.pt = cls.env.ref("base.pt")
        cls.customer = cls.env["res.partner"].create(
            {"name": "Maria Costa", MOBILE: "912 345 678", "country_id": cls.pt.id}
        )
        cls.product = cls.env["product.product"].create({"name": "Laptop", "type": "consu"})

    def _create_repair(self, **vals):
        return self.env["repair.order"].create(
            {"partner_id": self.customer.id, "product_id": self.product.id, **vals}
        )

    def _repair_messages(self, repair):
        return self.env["cgsms.repair.message"].search([("repair_id", "=", repair.id)])
